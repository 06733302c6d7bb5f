/**
 * Fault: nats-server (JetStream, file storage) is stopped and started again mid-load. Every hub process
 * reconnects; the outbox keeps what could not be relayed meanwhile, and the stage consumers resume.
 */
import { test } from 'node:test';
import { faultSkipReason, runFaultScenario, services } from './harness.js';

const skip = await faultSkipReason();

test('nats-server restart under load: every accepted payment ends once, with one report', { skip, timeout: 360_000 }, async (t) => {
  await runFaultScenario(t, {
    fault: async ({ load, note }) => {
      await services.stopNats();
      note(`nats-server stopped at ${load.accepted.size} accepted`);
      await new Promise((r) => setTimeout(r, 2000));
      await services.startNats();
      note(`nats-server answers again at ${load.accepted.size} accepted`);
    },
  });
});
