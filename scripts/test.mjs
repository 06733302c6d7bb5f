#!/usr/bin/env node
// Runs the test suites with Node's own test runner (TypeScript through tsx).
// Usage: node scripts/test.mjs [unit|conformance|integration|iso|...] [--only-files path...]
// Without arguments every file named *.test.ts under test/ runs.
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

const suites = args.filter((a) => !a.startsWith('-'));
const dirs = suites.length > 0 ? suites.map((s) => join(root, 'test', s)) : [join(root, 'test')];
const files = dirs.flatMap((d) => findTests(d)).map((f) => relative(root, f)).sort();
if (files.length === 0) {
  console.error(`no test files under ${dirs.map((d) => relative(root, d)).join(', ')}`);
  process.exit(1);
}

const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-reporter=spec', ...files],
  { cwd: root, stdio: 'inherit', env: process.env },
);
process.exit(result.status ?? 1);
