import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { LoopLoad } from '../../src/pipeline/loop-load.js';

/** Keeps the event loop busy in slices of `sliceMs` for `forMs`, as a saturated loop would be; `afterSlice` runs between. */
async function busy(forMs: number, sliceMs: number, afterSlice: () => void = () => undefined): Promise<void> {
  const until = Date.now() + forMs;
  while (Date.now() < until) {
    const end = Date.now() + sliceMs;
    while (Date.now() < end);
    await new Promise((resolve) => setImmediate(resolve));
    afterSlice();
  }
}

test('a loop kept busy counts as saturated, and as calm again once it idles', async () => {
  const load = new LoopLoad({ onAboveMs: 5, offBelowMs: 2, intervalMs: 50 });
  try {
    assert.equal(load.saturated, false, 'calm at first');
    await busy(400, 30);
    assert.equal(load.saturated, true, `saturated after a busy spell (mean delay ${load.delayMs.toFixed(1)} ms)`);
    await sleep(400);
    assert.equal(load.saturated, false, `calm again after idling (mean delay ${load.delayMs.toFixed(1)} ms)`);
  } finally {
    load.close();
  }
});

test('below its threshold a loop stays calm; once saturated it stays so until the delay falls below the lower one', async () => {
  const calm = new LoopLoad({ onAboveMs: 1000, offBelowMs: 500, intervalMs: 50 });
  // Saturated above 5 ms of mean delay, calm again only below 0: once saturated, for good.
  const sticky = new LoopLoad({ onAboveMs: 5, offBelowMs: 0, intervalMs: 50 });
  try {
    // The largest delay of the intervals measured meanwhile: on a loaded machine one interval may hold no sample.
    let largest = 0;
    await busy(400, 30, () => {
      largest = Math.max(largest, calm.delayMs);
    });
    assert.ok(largest > 0, 'the delay is measured');
    assert.equal(calm.saturated, false, 'not saturated below its threshold');
    assert.equal(sticky.saturated, true);
    await sleep(300);
    assert.equal(sticky.saturated, true, 'an idle loop is not below a lower threshold of 0');
  } finally {
    calm.close();
    sticky.close();
  }
});

test('a threshold of 0 means always saturated (every submission goes to the workers)', () => {
  const load = new LoopLoad({ onAboveMs: 0, offBelowMs: 0 });
  assert.equal(load.saturated, true);
  load.close();
});
