/**
 * Fault: a worker process is killed with SIGKILL mid-load and started again, then the other one. The messages
 * the dead worker held come back after their visibility timeout (plus the consumer's ack grace) and the other
 * worker finishes them; nothing is lost or doubled.
 */
import { test } from 'node:test';
import { faultSkipReason, runFaultScenario } from './harness.js';

const skip = await faultSkipReason();

test('SIGKILL of a worker under load: every accepted payment ends once, with one report', { skip, timeout: 360_000 }, async (t) => {
  await runFaultScenario(t, {
    fault: async ({ topology, load, note }) => {
      for (const name of ['worker1', 'worker2']) {
        await topology.processes.get(name)!.kill('SIGKILL');
        note(`${name} killed at ${load.accepted.size} accepted`);
        await new Promise((r) => setTimeout(r, 1500));
        await topology.start(name, 'worker');
        note(`${name} started again`);
        await new Promise((r) => setTimeout(r, 2000));
      }
    },
  });
});
