import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Waiters } from '../../src/queues/waiters.js';

/** Resolves with 'woken' when the wait ended before `ms` by a notification, else 'timeout'. */
async function outcome(wait: Promise<void>, started: number, ms: number): Promise<'woken' | 'timeout'> {
  await wait;
  return Date.now() - started < ms - 5 ? 'woken' : 'timeout';
}

describe('waiters', () => {
  test('a notification with a count wakes that many waiters, the longest waiting first', async () => {
    const waiters = new Waiters();
    const wakes = [waiters.subscribe('q'), waiters.subscribe('q'), waiters.subscribe('q')];
    const started = Date.now();
    const waits = wakes.map((w) => outcome(w.wait(200), started, 200));
    waiters.notify('q', 2);
    assert.deepEqual(await Promise.all(waits), ['woken', 'woken', 'timeout']);
    for (const w of wakes) w.cancel();
  });

  test('a notification without a count wakes every waiter; other keys are not woken', async () => {
    const waiters = new Waiters();
    const started = Date.now();
    const mine = [waiters.subscribe('q'), waiters.subscribe('q')];
    const other = waiters.subscribe('other');
    const waits = [...mine, other].map((w) => outcome(w.wait(150), started, 150));
    waiters.notify('q');
    assert.deepEqual(await Promise.all(waits), ['woken', 'woken', 'timeout']);
  });

  test('a waiter notified before it waits returns at once from its wait', async () => {
    const waiters = new Waiters();
    const wake = waiters.subscribe('q');
    waiters.notify('q', 1);
    const started = Date.now();
    assert.equal(await outcome(wake.wait(500), started, 500), 'woken');
    wake.cancel();
  });

  test('a waiter woken but cancelled without waiting passes the notification to the next one', async () => {
    const waiters = new Waiters();
    const first = waiters.subscribe('q');
    const second = waiters.subscribe('q');
    waiters.notify('q', 1);
    const started = Date.now();
    const waiting = outcome(second.wait(300), started, 300);
    first.cancel();
    assert.equal(await waiting, 'woken');
    second.cancel();
  });

  test('a waiter that consumed its notification does not pass it on when cancelled', async () => {
    const waiters = new Waiters();
    const first = waiters.subscribe('q');
    const second = waiters.subscribe('q');
    const started = Date.now();
    const waits = [outcome(first.wait(200), started, 200), outcome(second.wait(200), started, 200)];
    waiters.notify('q', 1);
    await waits[0];
    first.cancel();
    assert.deepEqual(await Promise.all(waits), ['woken', 'timeout']);
    second.cancel();
  });
});
