import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteDatabase } from '../../src/storage/sqlite/database.js';
import { silentLogger } from '../../src/log.js';
import { MxError } from '../../src/errors.js';
import Database from 'better-sqlite3';

function open(dir: string) {
  const db = new SqliteDatabase({ path: join(dir, 'test.db'), commitBatchMax: 64, busyTimeoutMs: 1000, logger: silentLogger() });
  db.migrate('t', [{ version: 1, description: 'rows', sql: 'CREATE TABLE rows (id INTEGER PRIMARY KEY, v TEXT NOT NULL)' }]);
  return db;
}

test('concurrent units share commits (group commit) and each settles after the commit', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mxgate-db-'));
  const db = open(dir);
  const insert = db.prepare('INSERT INTO rows (v) VALUES (?)');
  const ids = await Promise.all(Array.from({ length: 200 }, (_, i) => db.run(() => Number(insert.run(`v${i}`).lastInsertRowid))));
  assert.equal(new Set(ids).size, 200);
  const { batches, units } = db.stats;
  assert.equal(units, 200);
  assert.ok(batches <= 200 / 64 + 1, `200 units took ${batches} commits`);
  await db.close();
  rmSync(dir, { recursive: true, force: true });
});

test('migrations apply once per component and version', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mxgate-db-'));
  await open(dir).close();
  const again = open(dir); // would throw "table rows already exists" if version 1 ran twice
  const count = await again.run((ctx) => ctx.db.prepare("SELECT COUNT(*) AS n FROM schema_migrations WHERE component = 't'").get() as { n: number });
  assert.equal(count.n, 1);
  await again.close();
  rmSync(dir, { recursive: true, force: true });
});

test('a unit that throws rolls back alone; a closed database refuses new work', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mxgate-db-'));
  const db = open(dir);
  const insert = db.prepare('INSERT INTO rows (id, v) VALUES (?, ?)');
  const results = await Promise.allSettled([
    db.run(() => insert.run(1, 'a')),
    db.run(() => {
      insert.run(2, 'b');
      insert.run(1, 'duplicate key');
    }),
    db.run(() => insert.run(3, 'c')),
  ]);
  assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
  const rows = await db.run((ctx) => ctx.db.prepare('SELECT id FROM rows ORDER BY id').pluck().all());
  assert.deepEqual(rows, [1, 3]);
  await db.close();
  await assert.rejects(db.run(() => 1), (e: unknown) => e instanceof MxError && e.code === 'SHUTTING_DOWN');
  rmSync(dir, { recursive: true, force: true });
});

test('pipelined durability: synchronous=NORMAL in SQLite, every batch settles after a WAL flush', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mxgate-db-'));
  const db = open(dir);
  const mode = await db.run((ctx) => [ctx.db.pragma('journal_mode', { simple: true }), ctx.db.pragma('synchronous', { simple: true })]);
  assert.deepEqual(mode, ['wal', 1]);
  const insert = db.prepare('INSERT INTO rows (v) VALUES (?)');
  await Promise.all(Array.from({ length: 50 }, (_, i) => db.run(() => insert.run(`v${i}`))));
  const { batches, flushes } = db.stats;
  assert.ok(flushes >= 1 && flushes <= batches, `${batches} batches, ${flushes} WAL flushes`);
  await db.close();
  rmSync(dir, { recursive: true, force: true });
});

test('a unit run with untilDurable false settles at its commit, before the flush its batch still waits for', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mxgate-db-'));
  const db = open(dir);
  const insert = db.prepare('INSERT INTO rows (v) VALUES (?)');
  const count = db.prepare('SELECT COUNT(*) FROM rows').pluck();
  const order: string[] = [];
  const flushesBefore = db.stats.flushes;
  // Same loop turn: one batch. The durable unit settles only after a WAL flush; the early one at the COMMIT.
  const durable = db.run(() => insert.run('durable')).then(() => order.push(`durable after ${db.stats.flushes - flushesBefore} flushes`));
  const early = db.run(() => insert.run('early'), { untilDurable: false }).then(() => order.push(`early after ${db.stats.flushes - flushesBefore} flushes`));
  await Promise.all([durable, early]);
  assert.deepEqual(order, ['early after 0 flushes', 'durable after 1 flushes']);
  // What the early unit wrote is committed: the next unit sees it.
  assert.equal(await db.run(() => count.get()), 2);
  await db.close();
  rmSync(dir, { recursive: true, force: true });
});

test('full durability: synchronous=FULL, SQLite flushes inside COMMIT', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mxgate-db-'));
  const db = new SqliteDatabase({ path: join(dir, 'full.db'), commitBatchMax: 64, busyTimeoutMs: 1000, logger: silentLogger(), durability: 'full' });
  const mode = await db.run((ctx) => [ctx.db.pragma('journal_mode', { simple: true }), ctx.db.pragma('synchronous', { simple: true })]);
  assert.deepEqual(mode, ['wal', 2]);
  assert.equal(db.stats.flushes, 0);
  await db.close();
  rmSync(dir, { recursive: true, force: true });
});

/**
 * One second of 4 KB rows from 32 writers, which keep a commit running at all times, on a 1 MiB WAL limit.
 * `readerMs`: another connection holds a read snapshot from the start for that long, and the writes go on until
 * they have written twice what they wrote while it read (the WAL has then doubled again), within ten seconds.
 */
async function steadyWrites(options: { primedWithinMs?: number; primingsMax?: number; readerMs?: number } = {}) {
  const { readerMs, ...dbOptions } = options;
  const dir = mkdtempSync(join(tmpdir(), 'mxgate-db-'));
  const path = join(dir, 'wal.db');
  const db = new SqliteDatabase({ path, commitBatchMax: 64, busyTimeoutMs: 1000, logger: silentLogger(), walResetBytes: 1024 * 1024, ...dbOptions });
  db.migrate('t', [{ version: 1, description: 'rows', sql: 'CREATE TABLE rows (id INTEGER PRIMARY KEY, v BLOB NOT NULL)' }]);
  const insert = db.prepare('INSERT INTO rows (v) VALUES (randomblob(4000))');
  let reader: Database.Database | null = null;
  if (readerMs !== undefined) {
    reader = new Database(path, { readonly: true });
    reader.prepare('BEGIN').run();
    reader.prepare('SELECT count(*) FROM rows').get();
    setTimeout(() => {
      reader!.prepare('COMMIT').run();
      writtenWhileRead = written;
      walBytesWhileRead = statSync(`${path}-wal`).size;
    }, readerMs);
  }
  const started = Date.now();
  let written = 0;
  let writtenWhileRead = Infinity;
  let walBytesWhileRead = 0;
  const going = () =>
    readerMs === undefined ? Date.now() < started + 1000 : Date.now() < started + 10_000 && written < 2 * writtenWhileRead + 100;
  const writer = async () => {
    while (going()) {
      await db.run(() => insert.run());
      written += 1;
    }
  };
  await Promise.all(Array.from({ length: 32 }, writer));
  reader?.close();
  const walBytes = statSync(`${path}-wal`).size;
  const rows = await db.run((ctx) => ctx.db.prepare('SELECT COUNT(*) FROM rows').pluck().get());
  const stats = db.stats;
  await db.close();
  rmSync(dir, { recursive: true, force: true });
  return { written, walBytes, walBytesWhileRead, rows, stats };
}

test('under steady writes the WAL starts over once it passes walResetBytes, instead of growing with every commit', async () => {
  // With nothing to make it start over, the WAL grew past 200 MiB here in the same time.
  const { written, walBytes, rows, stats } = await steadyWrites();
  assert.ok(stats.walResets >= 1, `no WAL start over in ${stats.batches} commits`);
  // The file keeps its largest size. Without start-overs it holds every frame written (more than the rows); with
  // them, the limit and what came during the longest catch-up (a tenth to a quarter here, more on a loaded machine).
  assert.ok(walBytes < (written * 4000) / 2, `the WAL holds ${walBytes} bytes after ${written * 4000} bytes were written`);
  assert.equal(rows, written);
  assert.ok(stats.walPrimings >= stats.walResets, `${stats.walPrimings} primings for ${stats.walResets} start-overs`);
  assert.ok(Number.isFinite(stats.walResetPauseMs) && stats.walResetPauseMs >= 0);
});

test('a start over follows a priming quick enough, or the last of primingsMax', async () => {
  // Every priming counts as long: each start over has exactly primingsMax of them (the last may be under way).
  const always = await steadyWrites({ primedWithinMs: -1, primingsMax: 3 });
  assert.ok(always.stats.walResets >= 1, `no WAL start over in ${always.stats.batches} commits`);
  assert.ok(
    always.stats.walPrimings >= 3 * always.stats.walResets && always.stats.walPrimings <= 3 * always.stats.walResets + 3,
    `${always.stats.walPrimings} primings for ${always.stats.walResets} start-overs`,
  );
  // None counts as long: one priming per start over.
  const once = await steadyWrites({ primedWithinMs: Infinity });
  assert.ok(once.stats.walResets >= 1, `no WAL start over in ${once.stats.batches} commits`);
  assert.ok(
    once.stats.walPrimings >= once.stats.walResets && once.stats.walPrimings <= once.stats.walResets + 1,
    `${once.stats.walPrimings} primings for ${once.stats.walResets} start-overs`,
  );
  assert.equal(always.rows, always.written);
  assert.equal(once.rows, once.written);
});

test('while a reader holds an older snapshot, failed start-overs back off until the WAL doubles, then resume', async () => {
  // Without the back-off, every checkpoint report (ten a second) asked for a start over that could not succeed.
  const { stats, walBytesWhileRead, rows, written } = await steadyWrites({ readerMs: 1500 });
  assert.ok(stats.walResetMisses >= 1, 'the reader made no start over fail');
  const doublings = Math.ceil(Math.log2(walBytesWhileRead / (1024 * 1024)));
  assert.ok(stats.walResetMisses <= doublings + 2, `${stats.walResetMisses} failed start-overs while the WAL grew to ${walBytesWhileRead} bytes`);
  assert.ok(stats.walResets >= 1, `no WAL start over after the reader ended (${stats.walResetMisses} failed)`);
  assert.equal(rows, written);
});
