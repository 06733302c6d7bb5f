/**
 * Fault: PostgreSQL is stopped (fast: every session is ended) and started again mid-load. Pools replace their
 * broken connections, the outbox relays and the relay's LISTEN connection come back, and the API answers 503
 * (never 202) while the store is down; the stage messages in flight are not dead-lettered by the outage.
 */
import { test } from 'node:test';
import { faultSkipReason, runFaultScenario, services } from './harness.js';

const skip = await faultSkipReason();

test('PostgreSQL restart under load: every accepted payment ends once, with one report', { skip, timeout: 360_000 }, async (t) => {
  await runFaultScenario(t, {
    fault: async ({ load, note }) => {
      await services.stopPostgres();
      note(`PostgreSQL stopped at ${load.accepted.size} accepted`);
      // Down for longer than a stage's retries with backoff take to spend its attempts (about 10 s): an outage
      // must not send the messages in flight to the dead-letter queue.
      await new Promise((r) => setTimeout(r, 12_000));
      await services.startPostgres();
      note(`PostgreSQL answers again at ${load.accepted.size} accepted`);
    },
  });
});
