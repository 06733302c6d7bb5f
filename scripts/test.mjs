#!/usr/bin/env node
// Runs the test suites with Node's own test runner (TypeScript through tsx).
// Usage: node scripts/test.mjs [unit|conformance|integration|iso20022|faults ...]
// Without arguments every file named *.test.ts under test/ runs, except test/faults.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);

function findTests(dir) {
  const out = [];
  for (const entry of readdirSync(dir)) {
    const p = join(dir, entry);
    if (statSync(p).isDirectory()) out.push(...findTests(p));
    else if (entry.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

// test/faults restarts shared services (PostgreSQL, nats-server): it runs only when named, one file at a time.
const suites = args.filter((a) => !a.startsWith('-'));
const dirs = suites.length > 0 ? suites.map((s) => join(root, 'test', s)) : [join(root, 'test')];
const files = dirs
  .flatMap((d) => findTests(d))
  .map((f) => relative(root, f))
  .filter((f) => suites.some((s) => f.startsWith(join('test', s))) || !f.startsWith(join('test', 'faults')))
  .sort();
const concurrency = suites.includes('faults') ? 1 : 2;
if (files.length === 0) {
  console.error(`no test files under ${dirs.map((d) => relative(root, d)).join(', ')}`);
  process.exit(1);
}

const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...files],
  { cwd: root, stdio: 'inherit', env: process.env },
);
process.exit(result.status ?? 1);
