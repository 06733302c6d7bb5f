import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock, systemClock } from '../../src/ports/clock.js';
import { randomIds } from '../../src/ports/ids.js';

test('uuids are RFC 9562 version 7, lower case, unique, ordered by time', () => {
  const seen = new Set<string>();
  const before = Date.now();
  let previousMs = 0;
  for (let i = 0; i < 10_000; i++) {
    const id = randomIds.uuid();
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const ms = parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
    assert.ok(ms >= before && ms <= Date.now() && ms >= previousMs, 'the first 48 bits are the creation time in ms');
    previousMs = ms;
    seen.add(id);
  }
  assert.equal(seen.size, 10_000);
});

test('tokens are url-safe, of the asked length and unique across pool refills', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 5_000; i++) {
    const token = randomIds.token(12);
    assert.match(token, /^[A-Za-z0-9_-]{16}$/);
    seen.add(token);
  }
  assert.equal(seen.size, 5_000);
  assert.equal(randomIds.token(10_000).length, Math.ceil((10_000 * 4) / 3));
});

test('the manual clock moves only forward and only when told', () => {
  const clock = new ManualClock(1_000);
  assert.equal(clock.now(), 1_000);
  clock.advance(500);
  assert.equal(clock.now(), 1_500);
  assert.throws(() => clock.advance(-1));
  assert.throws(() => clock.set(1_000));
  clock.set(2_000);
  assert.equal(clock.now(), 2_000);
  assert.ok(Math.abs(systemClock.now() - Date.now()) < 1_000);
});
