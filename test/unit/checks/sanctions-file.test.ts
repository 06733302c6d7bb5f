import { test, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MxError } from '../../../src/errors.js';
import { silentLogger } from '../../../src/log.js';
import { SanctionsListFile } from '../../../src/pipeline/checks/sanctions-file.js';

let dir: string;
let file: string;
const open: SanctionsListFile[] = [];

const listFile = (options: Partial<{ reloadIntervalMs: number; fileBytesMax: number; entriesMax: number }> = {}) => {
  const f = new SanctionsListFile({ path: file, reloadIntervalMs: 100, fileBytesMax: 1024, entriesMax: 10, logger: silentLogger(), ...options });
  open.push(f);
  return f;
};

/** Replaces the list atomically, as the docs ask operators to. */
const replace = (text: string) => {
  const tmp = join(dir, `next-${Math.random()}`);
  writeFileSync(tmp, text);
  renameSync(tmp, file);
};

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'mxgate-sanctions-'));
  file = join(dir, 'list.txt');
});

afterEach(() => {
  for (const f of open.splice(0)) f.close();
  rmSync(dir, { recursive: true, force: true });
});

test('a missing, oversized, non-UTF-8 or malformed file stops the start with CONFIG_INVALID', () => {
  const isConfigInvalid = (error: unknown) => error instanceof MxError && error.code === 'CONFIG_INVALID';
  assert.throws(() => listFile(), isConfigInvalid);
  writeFileSync(file, 'x'.repeat(2000));
  assert.throws(() => listFile(), isConfigInvalid);
  writeFileSync(file, Buffer.from([0x41, 0xff, 0x42]));
  assert.throws(() => listFile(), isConfigInvalid);
  writeFileSync(file, 'BIC:123');
  assert.throws(() => listFile(), (error: unknown) => isConfigInvalid(error) && /line 1/.test((error as Error).message));
});

test('refresh reloads a changed file, and keeps the previous list when the new one is bad or gone', async () => {
  writeFileSync(file, 'Acme Trading\n');
  const f = listFile();
  assert.equal(f.current().size, 1);
  assert.equal(await f.refresh(), 'unchanged');

  replace('Acme Trading\nCOUNTRY:KP\n');
  assert.equal(await f.refresh(), 'reloaded');
  assert.equal(f.current().size, 2);
  assert.ok(f.current().countries.has('KP'));

  replace('BIC:nope\n');
  assert.equal(await f.refresh(), 'failed');
  assert.equal(f.current().size, 2, 'the previous list stays in force');
  assert.equal(await f.refresh(), 'unchanged', 'a bad version is read once, not on every poll');

  rmSync(file);
  assert.equal(await f.refresh(), 'failed');
  assert.equal(f.current().size, 2);

  replace('A\nB\nC\n');
  assert.equal(await f.refresh(), 'reloaded');
  assert.equal(f.current().size, 3);
  assert.deepEqual(f.stats, { reloads: 2, failures: 2 });
});

test('the poll picks up a change by itself and emits reloaded', async () => {
  writeFileSync(file, 'Acme Trading\n');
  const f = listFile({ reloadIntervalMs: 100 });
  f.start();
  const reloaded = once(f, 'reloaded');
  // The poll timer is unref'd (it never keeps a process alive); this one keeps the test alive while it waits.
  const keepAlive = setTimeout(() => undefined, 10_000);
  replace('Acme Trading\nIvan Petrov\n');
  const [event] = (await reloaded) as [{ entries: number }];
  clearTimeout(keepAlive);
  assert.equal(event.entries, 2);
  assert.ok(f.current().names.has('ivan petrov'));
});

test('a list above entriesMax is refused on reload', async () => {
  writeFileSync(file, 'A\n');
  const f = listFile({ entriesMax: 2 });
  replace('A\nB\nC\n');
  assert.equal(await f.refresh(), 'failed');
  assert.equal(f.current().size, 1);
});

test('after close no poll reloads the file', async () => {
  writeFileSync(file, 'A\n');
  const f = listFile();
  f.start();
  f.close();
  replace('A\nB\n');
  assert.equal(await f.refresh(), 'unchanged');
  assert.equal(f.current().size, 1);
});
