/**
 * Fault: nats-server (JetStream, file storage) is stopped mid-load and started again 15 s later. The API goes on
 * accepting into the PostgreSQL outbox meanwhile; every hub process reconnects; the relays then move the backlog
 * with every queue getting its share (the processing backlog must not starve the releasing, participant and
 * events queues), and the stage consumers resume.
 */
import { test } from 'node:test';
import { faultSkipReason, runFaultScenario, services } from './harness.js';

const skip = await faultSkipReason();

test('nats-server down for 15 s under load: every accepted payment ends once, with one report', { skip, timeout: 360_000 }, async (t) => {
  await runFaultScenario(t, {
    fault: async ({ load, note }) => {
      await services.stopNats();
      note(`nats-server stopped at ${load.accepted.size} accepted`);
      await new Promise((r) => setTimeout(r, 15_000));
      await services.startNats();
      note(`nats-server answers again at ${load.accepted.size} accepted`);
    },
  });
});
