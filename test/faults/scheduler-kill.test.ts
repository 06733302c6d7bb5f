/**
 * Fault: the scheduler process (the holder of the scheduler lease, which runs the active outbox relay) is killed
 * with SIGKILL mid-load and stays down for 15 s. The standby relays of the API and worker processes move the
 * outbox rows older than `postgres.relayStandbyAfterMs`, so payments accepted meanwhile still finish by
 * processing while no scheduler runs; once it is back it takes the lease again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { faultSkipReason, runFaultScenario, TERMINAL } from './harness.js';

const skip = await faultSkipReason();

test('SIGKILL of the scheduler under load: payments go on finishing through the standby relays', { skip, timeout: 360_000 }, async (t) => {
  await runFaultScenario(t, {
    fault: async ({ topology, load, token, note }) => {
      await topology.processes.get('scheduler')!.kill('SIGKILL');
      const killedAt = Date.now();
      note(`scheduler killed at ${load.accepted.size} accepted`);
      await new Promise((r) => setTimeout(r, 15_000));
      // The payments accepted in the first seconds without a scheduler, read while it is still down.
      const during = [...load.accepted].filter(([, at]) => at > killedAt + 500 && at < killedAt + 3000).map(([id]) => id);
      const statuses = await Promise.all(
        during.map(async (id) => {
          const res = await fetch(`${topology.url('api')}/v1/transactions/${id}`, { headers: { authorization: `Bearer ${token}` } });
          return ((await res.json()) as { status: string }).status;
        }),
      );
      const finished = statuses.filter((s) => TERMINAL.has(s)).length;
      note(`without a scheduler: ${finished} of ${during.length} payments accepted 0.5 to 3 s after the kill finished within 15 s`);
      assert.ok(during.length >= 10, `the API accepted payments while the scheduler was down: ${during.length}`);
      assert.equal(finished, during.length, `payments finish while no scheduler runs (${JSON.stringify(statuses.filter((s) => !TERMINAL.has(s)).slice(0, 5))})`);
      await topology.start('scheduler', 'scheduler');
      note('scheduler started again');
    },
  });
});
