/**
 * broker.replicas: every stream and KV bucket the NATS engine creates, and the ones of its namespace that existed
 * before, get the configured number of copies. The test server is a single nats-server, which cannot keep more than
 * one copy: the requests the engine sends are read at the connection (the port of the JetStream manager), and the
 * server's refusal of three copies is the proof that the value reached it.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { loadConfig } from '../../src/config/index.js';
import { MxError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { ManualClock } from '../../src/ports/clock.js';
import { randomIds } from '../../src/ports/ids.js';
import { NatsQueues } from '../../src/broker/nats/queues.js';
import { base32 } from '../../src/broker/nats/names.js';
import { connectNats, natsSkipReason } from '../helpers/nats.js';

describe('broker.replicas in the configuration', () => {
  test('defaults to 1; MXGATE_BROKER_REPLICAS and the file key set it; 1..5 only', () => {
    assert.equal(loadConfig({ env: {} }).broker.replicas, 1);
    assert.equal(loadConfig({ env: { MXGATE_BROKER_REPLICAS: '3' } }).broker.replicas, 3);
    for (const bad of ['0', '6', '2.5', 'three']) {
      assert.throws(
        () => loadConfig({ env: { MXGATE_BROKER_REPLICAS: bad } }),
        (error: unknown) => error instanceof MxError && error.code === 'CONFIG_INVALID',
        `replicas ${bad}`,
      );
    }
  });
});

const skip = await natsSkipReason();

/** The JetStream API requests (subject and decoded JSON body) a connection sends, for the test to read. */
function recording(nc: NatsConnection): { connection: NatsConnection; requests: Array<{ subject: string; body: Record<string, unknown> }> } {
  const requests: Array<{ subject: string; body: Record<string, unknown> }> = [];
  const connection = new Proxy(nc, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property);
      if (typeof value !== 'function') return value;
      const method = value as (...args: unknown[]) => unknown;
      if (property !== 'request') return method.bind(target);
      return (subject: string, payload?: unknown, ...rest: unknown[]) => {
        if (subject.startsWith('$JS.API.STREAM.')) {
          const text = payload instanceof Uint8Array ? new TextDecoder().decode(payload) : typeof payload === 'string' ? payload : '';
          requests.push({ subject, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) });
        }
        return method.call(target, subject, payload, ...rest);
      };
    },
  });
  return { connection, requests };
}

const prefixOf = () => `r${randomIds.token(8).toLowerCase().replace(/[^a-z0-9]/g, '')}`.slice(0, 12);

async function openEngine(connection: NatsConnection, prefix: string, replicas: number | undefined): Promise<NatsQueues> {
  return NatsQueues.open({
    connection,
    clock: new ManualClock(),
    ids: randomIds,
    logger: silentLogger(),
    defaults: { visibilityTimeoutS: 30, retentionS: 345_600, maxMessageBytes: 262_144 },
    maxQueues: 100,
    dedupWindowS: 300,
    prefix,
    ...(replicas === undefined ? {} : { replicas }),
  });
}

async function removeStreams(jsm: JetStreamManager, prefix: string): Promise<void> {
  const mine = prefix.toUpperCase();
  for await (const name of jsm.streams.names()) {
    if (name.startsWith(`${mine}_`) || name.startsWith(`KV_${mine}_`)) await jsm.streams.delete(name);
  }
}

const bucketStreams = (prefix: string) => ['queues', 'state', 'dedup'].map((b) => `KV_${prefix.toUpperCase()}_${b}`);

if (skip !== null) {
  test('broker.replicas on NATS JetStream', { skip }, () => {});
} else {
  describe('broker.replicas on NATS JetStream', () => {
    test('replicas 1: the queue stream and the three buckets read back one copy', async () => {
      const nc = await connectNats();
      const jsm = await jetstreamManager(nc);
      const prefix = prefixOf();
      try {
        const queues = await openEngine(nc, prefix, 1);
        await queues.createQueue({ name: 'participant.bank-a' });
        await queues.close();
        const streams = [`${prefix.toUpperCase()}_${base32('participant.bank-a')}`, ...bucketStreams(prefix)];
        for (const stream of streams) assert.equal((await jsm.streams.info(stream)).config.num_replicas, 1, stream);
      } finally {
        await removeStreams(jsm, prefix);
        await nc.close();
      }
    });

    test('replicas 3 on a server that cannot keep three copies: the buckets are asked for 3 and the start fails with CONFIG_INVALID', async () => {
      const nc = await connectNats();
      const jsm = await jetstreamManager(nc);
      const prefix = prefixOf();
      const { connection, requests } = recording(nc);
      try {
        await assert.rejects(openEngine(connection, prefix, 3), (error: unknown) => {
          assert.ok(error instanceof MxError, String(error));
          assert.equal(error.code, 'CONFIG_INVALID');
          assert.match(error.message, /broker\.replicas is 3/);
          return true;
        });
        const created = requests.filter((r) => r.subject.startsWith('$JS.API.STREAM.CREATE.'));
        assert.ok(created.length > 0, 'the engine asked for a bucket stream');
        for (const r of created) assert.equal(r.body.num_replicas, 3, r.subject);
      } finally {
        await removeStreams(jsm, prefix);
        await nc.close();
      }
    });

    test('a new setting reaches what existed: the streams of the namespace are updated, and new queues are created, with it', async () => {
      const nc = await connectNats();
      const jsm = await jetstreamManager(nc);
      const prefix = prefixOf();
      const other = prefixOf();
      try {
        const before = await openEngine(nc, prefix, undefined);
        await before.createQueue({ name: 'mx.processing.fifo', fifo: true });
        await before.close();
        // Another hub's namespace on the same cluster is not touched.
        const neighbour = await openEngine(nc, other, 1);
        await neighbour.createQueue({ name: 'mx.processing.fifo', fifo: true });
        await neighbour.close();

        const { connection, requests } = recording(nc);
        let after: NatsQueues | null = null;
        try {
          after = await openEngine(connection, prefix, 3);
        } catch (error) {
          // A server version that refuses even the update of a standalone stream to three copies says so at start.
          assert.ok(error instanceof MxError && error.code === 'CONFIG_INVALID', String(error));
        }
        const updated = requests.filter((r) => r.subject.startsWith('$JS.API.STREAM.UPDATE.'));
        const queueStream = `${prefix.toUpperCase()}_${base32('mx.processing.fifo')}`;
        if (after !== null) {
          assert.deepEqual(updated.map((r) => r.subject.slice('$JS.API.STREAM.UPDATE.'.length)).sort(), [queueStream, ...bucketStreams(prefix)].sort());
        } else {
          assert.ok(updated.length > 0, 'an update was asked for');
        }
        for (const r of updated) assert.equal(r.body.num_replicas, 3, r.subject);
        assert.ok(!requests.some((r) => r.subject.includes(other.toUpperCase()) && !r.subject.includes('.INFO.')), 'nothing of the other namespace changed');

        if (after !== null) {
          const from = requests.length;
          await assert.rejects(after.createQueue({ name: 'participant.bank-b' }));
          const created = requests.slice(from).filter((r) => r.subject.startsWith('$JS.API.STREAM.CREATE.'));
          assert.deepEqual(created.map((r) => r.body.num_replicas), [3], 'the new queue stream is asked for three copies');
          await after.close();
        }
        assert.equal((await jsm.streams.info(`${other.toUpperCase()}_${base32('mx.processing.fifo')}`)).config.num_replicas, 1);
      } finally {
        await removeStreams(jsm, prefix);
        await removeStreams(jsm, other);
        await nc.close();
      }
    });
  });
}
