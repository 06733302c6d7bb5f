/**
 * `mxgate migrate-store` against real engines: an embedded hub (in this process, on a fresh data directory) takes
 * payments, is stopped, and the command (a child process, as an operator runs it) moves its SQLite file into a
 * fresh PostgreSQL schema. The moved data is then read through the PostgreSQL store's own code and compared with
 * what the embedded store reads from its file: the client signs in with its old secret, a token of the old hub
 * still verifies, every transaction reads back the same (payments with amounts as strings, history, stored
 * messages), an Idempotency-Key is still known, and a business key still blocks a duplicate.
 *
 * Refusals write nothing: a running hub, a hub stopped with a payment in flight (an API-only hub: nothing
 * processes it), and a target schema that holds data already.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import pg from 'pg';
import { AuthService, OAuthError } from '../../src/auth/service.js';
import { loadConfig } from '../../src/config/index.js';
import { MxError } from '../../src/errors.js';
import { DATABASE_FILE, openEmbeddedEngine } from '../../src/engines/embedded.js';
import { silentLogger } from '../../src/log.js';
import { startHub, type RunningHub } from '../../src/main.js';
import { systemClock } from '../../src/ports/clock.js';
import { randomIds } from '../../src/ports/ids.js';
import type { BusinessKey, MessageKind } from '../../src/ports/transactions.js';
import type { Store } from '../../src/ports/store.js';
import { moveEmbeddedToPostgres } from '../../src/storage/embedded-to-postgres.js';
import { openPostgresStore, type PostgresEngine } from '../../src/storage/postgres/index.js';
import { createTestClient, fetchToken, type TestClient } from '../helpers/auth.js';
import { api, awaitReport, fresh, sample } from '../helpers/e2e.js';
import { dropSchema, freshSchemaName, POSTGRES_URL, postgresOrSkip } from '../helpers/postgres.js';
import { SHARED_ISO20022_DIR, sharedIso20022Available } from '../helpers/shared.js';

const run = promisify(execFile);
const repoRoot = resolve(import.meta.dirname, '..', '..');
const PACS008 = 'pacs.008.001.08-cbpr-single.xml';
const skip = !sharedIso20022Available() && process.env.CI !== 'true' ? 'ISO 20022 reference material not found at ../shared/iso20022' : false;

/** An embedded hub on `dataDir`: every role, or the API alone (payments then wait at ACTC). */
function embeddedHub(dataDir: string, role: 'all' | 'api'): Promise<RunningHub> {
  const config = loadConfig({ overrides: { port: 0, dataDir, workflow: { schemaDir: join(SHARED_ISO20022_DIR, 'xsd') } } });
  return startHub(config, { logger: silentLogger(), role });
}

/** Runs `mxgate migrate-store` as an operator would; never throws on a non-zero exit. */
async function migrateStore(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'migrate-store', ...args], { cwd: repoRoot, timeout: 120_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    if (typeof failed.code !== 'number') throw error;
    return { code: failed.code, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

async function submit(url: string, token: string, xml: string, headers: Record<string, string> = {}): Promise<string> {
  const answer = await api(url, token, 'POST', '/v1/messages', { xml, headers });
  assert.equal(answer.status, 202, answer.text);
  return answer.json().transaction_id as string;
}

/** Row counts of the store's tables in a schema (null when the schema does not exist). */
async function schemaCounts(schema: string): Promise<Record<string, number> | null> {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    const tables = await client.query<{ name: string }>("SELECT table_name AS name FROM information_schema.tables WHERE table_schema = $1 AND table_name != 'schema_migrations' ORDER BY 1", [schema]);
    if ((await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema])).rowCount === 0) return null;
    const counts: Record<string, number> = {};
    for (const { name } of tables.rows) counts[name] = Number((await client.query(`SELECT count(*) AS n FROM "${schema}".${name}`)).rows[0].n);
    return counts;
  } finally {
    await client.end();
  }
}

/** What a store's own code reads of a transaction: the record, payments, history and every stored message. */
async function readBack(store: Store, id: string): Promise<unknown> {
  return store.read(async (tx) => {
    const messages: Partial<Record<MessageKind, unknown>> = {};
    for (const kind of ['in', 'out', 'downstream'] as const) messages[kind] = await tx.transactions.getMessage(id, kind);
    return {
      transaction: await tx.transactions.get(id),
      payments: await tx.transactions.payments(id),
      history: await tx.transactions.history(id),
      messages,
    };
  });
}

const ok = await postgresOrSkip('migrate-store moves an embedded hub into PostgreSQL');

describe('mxgate migrate-store', { skip: skip || !ok }, () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'mxgate-migrate-'));
  const schemas: string[] = [];
  let client: TestClient;
  let oldToken: string;
  const ids: Record<'settled' | 'rejected' | 'conflict' | 'reserved' | 'idempotent', string> = {} as never;
  const schema = freshSchemaName();
  schemas.push(schema);

  before(async () => {
    const hub = await embeddedHub(dataDir, 'all');
    try {
      client = await createTestClient(hub.engine.auth, { name: 'erp' });
      oldToken = await fetchToken(hub.url, client);
      const settled = fresh(sample(PACS008), 'mig1');
      ids.settled = await submit(hub.url, oldToken, settled);
      ids.rejected = await submit(hub.url, oldToken, sample('invalid-builtin/pacs.008.001.08-cbpr-maxpopulated.xml'));
      ids.idempotent = await submit(hub.url, oldToken, fresh(sample(PACS008), 'mig2'), { 'idempotency-key': 'migrate-1' });
      ids.reserved = (await api(hub.url, oldToken, 'POST', '/v1/transactions')).json().transaction_id as string;
      for (const id of [ids.settled, ids.rejected, ids.idempotent]) await awaitReport(hub.url, oldToken, id);
      // Same business ids, other content: rejected as a duplicate (AM05) once the original's keys are held.
      ids.conflict = await submit(hub.url, oldToken, settled.replace(/(IntrBkSttlmAmt Ccy="EUR">)750000</, '$1750001<'));
      await awaitReport(hub.url, oldToken, ids.conflict);

      // A running hub is refused, even for a dry run: its file is in use.
      const running = await migrateStore(['--data-dir', dataDir, '--to', POSTGRES_URL, '--schema', schema, '--dry-run']);
      assert.equal(running.code, 1, running.stdout + running.stderr);
      assert.match(running.stdout, /blocks the move: STORE_UNAVAILABLE: .*(write-ahead log|lease)/);
    } finally {
      await hub.stop();
    }
  });

  after(async () => {
    for (const s of schemas) await dropSchema(s);
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('a dry run reports the rows and what blocks the move, and writes nothing', async () => {
    // The reports also wait in the client's participant queue: they block unless the operator leaves them behind.
    const blocked = await migrateStore(['--data-dir', dataDir, '--to', POSTGRES_URL, '--schema', schema, '--dry-run']);
    assert.equal(blocked.code, 1, blocked.stdout + blocked.stderr);
    assert.match(blocked.stdout, new RegExp(`blocks the move: TRANSACTION_STATE: 4 report\\(s\\) wait in participant queues \\(participant\\.${client.id} 4\\)`));
    const dry = await migrateStore(['--data-dir', dataDir, '--to', POSTGRES_URL, '--schema', schema, '--dry-run', '--leave-participant-messages']);
    assert.equal(dry.code, 0, dry.stdout + dry.stderr);
    assert.match(dry.stdout, /nothing blocks the move/);
    assert.match(dry.stdout, /note: 4 report\(s\) of participant queues stay behind/);
    assert.match(dry.stdout, /^\s+transactions\s+5\s+0$/m);
    assert.match(dry.stdout, /^\s+auth_clients\s+2\s+0$/m, 'the bootstrap client and the test client');
    assert.equal(await schemaCounts(schema), null, 'no schema created');
  });

  test('moves clients, keys, transactions and business keys; the PostgreSQL store reads them as the embedded one did', async () => {
    const moved = await migrateStore(['--data-dir', dataDir, '--to', POSTGRES_URL, '--schema', schema, '--leave-participant-messages']);
    assert.equal(moved.code, 0, moved.stdout + moved.stderr);
    assert.match(moved.stdout, /copied \d+ rows in \d+\.\d s/);

    const config = loadConfig({ overrides: { dataDir } });
    const embedded = openEmbeddedEngine({ config, clock: systemClock, ids: randomIds, logger: silentLogger() });
    let target: PostgresEngine | undefined;
    try {
      target = await openPostgresStore({ url: POSTGRES_URL, schema, clock: systemClock, ids: randomIds, logger: silentLogger() });
      const auth = new AuthService({ store: target.auth, clock: systemClock, ids: randomIds, logger: silentLogger(), config: config.auth });

      // The old secret signs in, and the old hub's token verifies with the carried signing key.
      const grant = await auth.issueToken({ grantType: 'client_credentials', clientId: client.id, clientSecret: client.secret, scope: undefined });
      assert.equal((await auth.authenticate(grant.accessToken)).id, client.id);
      assert.equal((await auth.authenticate(oldToken)).id, client.id);
      await assert.rejects(
        auth.issueToken({ grantType: 'client_credentials', clientId: client.id, clientSecret: `${client.secret}x`, scope: undefined }),
        (e: unknown) => e instanceof OAuthError && e.error === 'invalid_client',
      );
      assert.deepEqual(await auth.getClient(client.id), await embedded.auth.getClient(client.id));

      // Every transaction reads back the same through both engines' code.
      for (const id of Object.values(ids)) assert.deepEqual(await readBack(target.store, id), await readBack(embedded.store, id), id);
      const settled = (await readBack(target.store, ids.settled)) as { transaction: { status: string }; payments: Array<{ amount: unknown }>; history: Array<{ status: string }>; messages: Record<string, unknown> };
      assert.equal(settled.transaction.status, 'ACSC');
      assert.equal(settled.payments[0]!.amount, '750000');
      assert.deepEqual(settled.history.map((h) => h.status), ['ACTC', 'ACSP', 'ACSC', 'RCVD']);
      assert.notEqual(settled.messages.out, null, 'the status report moved');
      const statuses = await target.store.read(async (tx) => Promise.all(Object.values(ids).map(async (id) => (await tx.transactions.get(id))!.status)));
      assert.deepEqual(statuses.sort(), ['ACCP', 'ACSC', 'ACSC', 'RJCT', 'RJCT']);

      // The Idempotency-Key is still known.
      const idem = await target.store.read((tx) => tx.kv.get('idempotency', `${client.id}:migrate-1`));
      assert.equal((JSON.parse(idem!.value) as { id: string }).id, ids.idempotent);

      // A key of the settled payment still blocks another transaction's claim, naming the original.
      const source = new Database(join(dataDir, DATABASE_FILE), { readonly: true });
      const keys = source.prepare('SELECT kind, value FROM business_keys WHERE transaction_id = ?').all(ids.settled) as BusinessKey[];
      source.close();
      assert.ok(keys.length > 0);
      const now = Date.now();
      const claim = await target.store.transaction((tx) =>
        tx.transactions.claimKeys({ clientId: client.id, keys: [keys[0]!], transactionId: 'another', contentHash: 'other', expiresAt: now + 60_000, now }),
      );
      assert.equal(claim.ok, false);
      assert.equal(claim.ok === false && claim.transactionId, ids.settled);
    } finally {
      await target?.close();
      await embedded.close();
    }
  });

  test('statements of a few rows each move the same rows', async () => {
    const small = freshSchemaName();
    schemas.push(small);
    const report = await moveEmbeddedToPostgres({
      path: join(dataDir, DATABASE_FILE),
      url: POSTGRES_URL,
      schema: small,
      dryRun: false,
      clock: systemClock,
      logger: silentLogger(),
      leaveParticipantMessages: true,
      rowsPerStatement: 2,
    });
    assert.deepEqual(report.blockers, []);
    const [a, b] = [await schemaCounts(schema), await schemaCounts(small)];
    assert.deepEqual(b, a);
    assert.ok((b!.history ?? 0) > 2, 'several statements for history');
    assert.equal(report.tables.find((t) => t.table === 'history')!.rows, b!.history);
  });

  test('a target that holds data is refused, and keeps what it has', async () => {
    const before = await schemaCounts(schema);
    const again = await migrateStore(['--data-dir', dataDir, '--to', POSTGRES_URL, '--schema', schema, '--leave-participant-messages']);
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /mxgate: CONFIG_INVALID: migrate-store refused, nothing was written: the target schema .* already holds data \(.*auth_clients.*transactions/);
    assert.deepEqual(await schemaCounts(schema), before);
  });

  test('a write to the embedded database during the copy rolls the whole copy back', async () => {
    const copyDir = mkdtempSync(join(tmpdir(), 'mxgate-migrate-copy-'));
    const target = freshSchemaName();
    schemas.push(target);
    try {
      copyFileSync(join(dataDir, DATABASE_FILE), join(copyDir, DATABASE_FILE));
      const move = moveEmbeddedToPostgres({
        path: join(copyDir, DATABASE_FILE),
        url: POSTGRES_URL,
        schema: target,
        dryRun: false,
        leaveParticipantMessages: true,
        clock: systemClock,
        logger: silentLogger(),
        // As a hub started too early would: a commit on the file while the copy runs.
        onTable: (count) => {
          if (count.table !== 'auth_clients') return;
          const writer = new Database(join(copyDir, DATABASE_FILE));
          writer.prepare("INSERT INTO kv (namespace, key, value, version) VALUES ('test', 'late', 'x', 1)").run();
          writer.close();
        },
      });
      await assert.rejects(move, (e: unknown) => e instanceof MxError && e.code === 'STORE_UNAVAILABLE' && /changed during the copy/.test(e.message));
      const counts = await schemaCounts(target);
      assert.ok(counts, 'the schema was migrated');
      assert.deepEqual(Object.values(counts).filter((n) => n > 0), [], 'no row committed');
    } finally {
      rmSync(copyDir, { recursive: true, force: true });
    }
  });

  test('a hub stopped with a payment in flight is refused, and nothing is written', async () => {
    const busyDir = mkdtempSync(join(tmpdir(), 'mxgate-migrate-busy-'));
    const target = freshSchemaName();
    schemas.push(target);
    try {
      const hub = await embeddedHub(busyDir, 'api');
      let id: string;
      try {
        const token = await fetchToken(hub.url, await createTestClient(hub.engine.auth));
        id = await submit(hub.url, token, fresh(sample(PACS008), 'busy1'));
      } finally {
        await hub.stop();
      }
      const refused = await migrateStore(['--data-dir', busyDir, '--to', POSTGRES_URL, '--schema', target]);
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /mxgate: TRANSACTION_STATE: migrate-store refused, nothing was written: /);
      assert.match(refused.stderr, new RegExp(`not final \\(ACTC 1; for example ${id}\\)`));
      assert.match(refused.stderr, /mx\.processing\.fifo 1/);
      assert.equal(await schemaCounts(target), null, 'not even the schema was created');

      const dry = await migrateStore(['--data-dir', busyDir, '--to', POSTGRES_URL, '--schema', target, '--dry-run']);
      assert.equal(dry.code, 1);
      assert.match(dry.stdout, /blocks the move: TRANSACTION_STATE: .*ACTC 1/);
      assert.match(dry.stdout, /blocks the move: TRANSACTION_STATE: .*mx\.processing\.fifo 1/);
    } finally {
      rmSync(busyDir, { recursive: true, force: true });
    }
  });
});
