import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { loadConfig } from '../../src/config/index.js';
import { DATABASE_FILE, openEmbeddedEngine } from '../../src/engines/embedded.js';
import { silentLogger } from '../../src/log.js';
import { ManualClock } from '../../src/ports/clock.js';
import { randomIds } from '../../src/ports/ids.js';
import type { NewTransaction } from '../../src/ports/transactions.js';
import { transactionsConformance } from './transactions.suite.js';

/** An embedded engine on a database file in `dir`. */
const open = (dir: string) =>
  openEmbeddedEngine({ config: loadConfig({ overrides: { dataDir: dir } }), clock: new ManualClock(), ids: randomIds, logger: silentLogger() });

transactionsConformance('embedded (SQLite)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mxgate-tx-'));
  const engine = open(dir);
  return {
    store: engine.store,
    close: async () => {
      await engine.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

const transaction = (): NewTransaction => ({
  id: randomUUID(),
  clientId: 'client-a',
  status: 'ACTC',
  messageType: 'pacs.008.001.08',
  msgId: `MSG-${randomUUID()}`,
  contentHash: 'hash',
  deadlineAt: 1_000_000,
  groupKey: 'client-a:DE89370400440532013000',
  payments: [{ index: 0, endToEndId: 'E2E', txId: null, uetr: null, instrId: null, amount: '10.00', currency: 'EUR' }],
  at: 500_000,
});

/** A message of the size of a one-payment pacs.008 with its header. */
const XML = `<Document>${'x'.repeat(3300)}</Document>`;

test('stored messages of a few kilobytes sit in the leaves of their table, with no overflow page each', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mxgate-tx-'));
  const engine = open(dir);
  try {
    for (let i = 0; i < 50; i++) {
      const t = transaction();
      await engine.store.transaction(async (tx) => {
        await tx.transactions.create(t);
        await tx.transactions.putMessage(t.id, { kind: 'in', messageType: 'pacs.008.001.08', xml: XML, createdAt: 500_000 });
      });
    }
  } finally {
    await engine.close();
  }
  const db = new Database(join(dir, DATABASE_FILE), { readonly: true });
  try {
    const pages = db.prepare("SELECT pagetype, COUNT(*) AS n FROM dbstat WHERE name = 'transaction_messages' GROUP BY pagetype").all() as Array<{ pagetype: string; n: number }>;
    const overflow = pages.find((p) => p.pagetype === 'overflow')?.n ?? 0;
    assert.equal(overflow, 0, `overflow pages: ${JSON.stringify(pages)}`);
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a database with the first layout of stored messages upgrades in place and keeps them', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mxgate-tx-'));
  const t = transaction();
  let engine = open(dir);
  await engine.store.transaction((tx) => tx.transactions.create(t));
  await engine.close();
  // Back to version 1 of the workflow tables (messages in a WITHOUT ROWID table), with a message in it.
  const db = new Database(join(dir, DATABASE_FILE));
  db.exec(`
    DROP TABLE transaction_messages;
    CREATE TABLE transaction_messages (
      transaction_id TEXT NOT NULL, kind TEXT NOT NULL, message_type TEXT NOT NULL, xml TEXT NOT NULL, created_at INTEGER NOT NULL,
      PRIMARY KEY (transaction_id, kind)
    ) WITHOUT ROWID;
    DELETE FROM schema_migrations WHERE component = 'workflow' AND version = 2;
  `);
  db.prepare('INSERT INTO transaction_messages VALUES (?, ?, ?, ?, ?)').run(t.id, 'in', 'pacs.008.001.08', XML, 500_000);
  db.close();
  engine = open(dir);
  try {
    assert.equal((await engine.store.transaction((tx) => tx.transactions.getMessage(t.id, 'in')))?.xml, XML, 'kept');
    // The key still holds: a second message of a kind replaces the first.
    await engine.store.transaction((tx) => tx.transactions.putMessage(t.id, { kind: 'in', messageType: 'pacs.008.001.08', xml: '<Document/>', createdAt: 600_000 }));
    await engine.store.transaction((tx) => tx.transactions.putMessage(t.id, { kind: 'out', messageType: 'pacs.002.001.10', xml: '<Report/>', createdAt: 600_000 }));
    assert.equal((await engine.store.transaction((tx) => tx.transactions.getMessage(t.id, 'in')))?.xml, '<Document/>');
    assert.equal((await engine.store.transaction((tx) => tx.transactions.getMessage(t.id, 'out')))?.xml, '<Report/>');
  } finally {
    await engine.close();
  }
  const check = new Database(join(dir, DATABASE_FILE), { readonly: true });
  try {
    const sql = check.prepare("SELECT sql FROM sqlite_schema WHERE name = 'transaction_messages'").pluck().get() as string;
    assert.doesNotMatch(sql, /WITHOUT ROWID/i);
    assert.equal(check.prepare('SELECT COUNT(*) FROM transaction_messages').pluck().get(), 2);
  } finally {
    check.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
