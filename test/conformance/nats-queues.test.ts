import { test } from 'node:test';
import { jetstreamManager } from '@nats-io/jetstream';
import { silentLogger } from '../../src/log.js';
import { ManualClock } from '../../src/ports/clock.js';
import { randomIds } from '../../src/ports/ids.js';
import { NatsQueues } from '../../src/broker/nats/queues.js';
import { connectNats, natsSkipReason } from '../helpers/nats.js';
import { queueConformance } from './queues.suite.js';

const skip = await natsSkipReason();

if (skip !== null) {
  test('queue conformance: NATS JetStream', { skip }, () => {});
} else {
  // Fresh streams and buckets per test under a unique prefix, deleted afterwards; the same defaults as the
  // embedded engine's configuration.
  queueConformance('NATS JetStream', async () => {
    const prefix = `t${randomIds.token(6).toLowerCase().replace(/[^a-z0-9]/g, '')}`.slice(0, 12);
    const clock = new ManualClock();
    const nc = await connectNats();
    const queues = await NatsQueues.open({
      connection: nc,
      clock,
      ids: randomIds,
      logger: silentLogger(),
      defaults: { visibilityTimeoutS: 30, retentionS: 345_600, maxMessageBytes: 262_144 },
      maxQueues: 1000,
      dedupWindowS: 300,
      prefix,
    });
    return {
      queues,
      clock,
      sweep: async () => {
        await queues.sweep();
      },
      close: async () => {
        await queues.close();
        const jsm = await jetstreamManager(nc);
        const mine = prefix.toUpperCase();
        for await (const name of jsm.streams.names()) {
          if (name.startsWith(`${mine}_`) || name.startsWith(`KV_${mine}_`)) await jsm.streams.delete(name);
        }
        await nc.close();
      },
    };
  });
}
