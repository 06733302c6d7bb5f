/**
 * Fault: a worker process is killed with SIGKILL mid-load and started again, then the other one. The messages
 * the dead worker held come back after their visibility timeout (plus the consumer's ack grace) and the other
 * worker finishes them; nothing is lost or doubled. Until then the payments of the FIFO groups the dead worker
 * held wait behind them, the backlog fills and the API refuses new payments (503 OVERLOADED): it has to accept
 * again once the held messages are back (40 s: visibility timeout 30 s, ack grace 10 s) and the backlog drains.
 */
import { test } from 'node:test';
import { faultSkipReason, runFaultScenario } from './harness.js';

const skip = await faultSkipReason();

test('SIGKILL of a worker under load: every accepted payment ends once, with one report', { skip, timeout: 360_000 }, async (t) => {
  await runFaultScenario(t, {
    readmitMs: 60_000,
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
