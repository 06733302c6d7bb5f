/**
 * Restart durability: the hub is killed with SIGKILL while producers and consumers run, then restarted.
 * Every acknowledged send must be delivered, and no acknowledged delete may ever come back.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startHubProcess, type HubProcess } from '../helpers/hub-process.js';
import { bearer, bootstrapToken } from '../helpers/auth.js';

const ROUNDS = 4;
const PRODUCERS = 4;
const CONSUMERS = 3;

interface Ledger {
  acked: Set<string>;
  received: Set<string>;
  deleted: Set<string>;
  resurrected: string[];
}

/** Authorization header of the bootstrap client (tokens stay valid across restarts: keys are in the database). */
let auth: { authorization: string } = { authorization: '' };

async function post(url: string, body: unknown): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...auth }, body: JSON.stringify(body) });
}

async function producer(hub: HubProcess, queue: string, id: number, round: number, ledger: Ledger, stop: { now: boolean }) {
  for (let n = 0; !stop.now; n++) {
    const entries = Array.from({ length: 10 }, (_, i) => {
      const body = `${queue}|r${round}p${id}n${n}i${i}`;
      return { id: String(i), body, ...(queue.endsWith('.fifo') ? { group_id: `g${i % 3}`, dedup_id: body } : {}) };
    });
    try {
      const res = await post(`${hub.url}/v1/queues/${queue}/messages`, { entries });
      if (res.status !== 200) continue;
      const answer = (await res.json()) as { successful: Array<{ id: string }> };
      for (const s of answer.successful) ledger.acked.add(entries[Number(s.id)]!.body);
    } catch {
      return; // the hub died: nothing unacknowledged counts
    }
  }
}

async function consumer(hub: HubProcess, queue: string, ledger: Ledger, stop: { now: boolean }) {
  while (!stop.now) {
    try {
      const res = await fetch(`${hub.url}/v1/queues/${queue}/messages?max=10&visibility_s=2`, { headers: auth });
      if (res.status !== 200) continue;
      const { messages } = (await res.json()) as { messages: Array<{ body: string; receipt_handle: string }> };
      for (const m of messages) {
        if (ledger.deleted.has(m.body)) ledger.resurrected.push(m.body);
        ledger.received.add(m.body);
      }
      if (messages.length === 0) continue;
      const del = await post(`${hub.url}/v1/queues/${queue}/messages/delete`, { receipt_handles: messages.map((m) => m.receipt_handle) });
      if (del.status !== 200) continue;
      const answer = (await del.json()) as { successful: Array<{ receipt_handle: string }> };
      const done = new Set(answer.successful.map((s) => s.receipt_handle));
      for (const m of messages) if (done.has(m.receipt_handle)) ledger.deleted.add(m.body);
    } catch {
      return;
    }
  }
}

async function drain(hub: HubProcess, queue: string, ledger: Ledger): Promise<Set<string>> {
  const left = new Set<string>();
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const stats = (await (await fetch(`${hub.url}/v1/queues/${queue}`, { headers: auth })).json()) as { metrics: { visible: number; in_flight: number; delayed: number } };
    const res = await fetch(`${hub.url}/v1/queues/${queue}/messages?max=10&wait_s=1`, { headers: auth });
    const { messages } = (await res.json()) as { messages: Array<{ body: string; receipt_handle: string }> };
    for (const m of messages) {
      if (ledger.deleted.has(m.body)) ledger.resurrected.push(m.body);
      left.add(m.body);
    }
    if (messages.length > 0) {
      await post(`${hub.url}/v1/queues/${queue}/messages/delete`, { receipt_handles: messages.map((m) => m.receipt_handle) });
    } else if (stats.metrics.visible + stats.metrics.in_flight + stats.metrics.delayed === 0) {
      return left;
    }
  }
  throw new Error(`queue ${queue} did not drain in time`);
}

test('acknowledged messages survive SIGKILL; acknowledged deletes never come back', { timeout: 180_000 }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'mxgate-crash-'));
  const queues = ['durable', 'durable.fifo'];
  const ledgers = new Map<string, Ledger>(queues.map((q) => [q, { acked: new Set(), received: new Set(), deleted: new Set(), resurrected: [] }]));
  const port = await freePort();
  let hub = await startHubProcess({ dataDir, port });
  auth = bearer(await bootstrapToken(hub.url, dataDir));
  try {
    for (const q of queues) {
      const res = await post(`${hub.url}/v1/queues`, { name: q, visibility_timeout_s: 2, ...(q.endsWith('.fifo') ? { fifo: true } : {}) });
      assert.equal(res.status, 201);
    }
    for (let round = 0; round < ROUNDS; round++) {
      const stop = { now: false };
      const before = queues.map((q) => ledgers.get(q)!.acked.size);
      const work = queues.flatMap((q) => {
        const ledger = ledgers.get(q)!;
        return [
          ...Array.from({ length: PRODUCERS }, (_, id) => producer(hub, q, id, round, ledger, stop)),
          ...Array.from({ length: CONSUMERS }, () => consumer(hub, q, ledger, stop)),
        ];
      });
      // The kill falls at a random moment once the restarted hub acknowledges sends on every queue again: on a slow
      // or busy machine its first answers can take longer than the whole random delay.
      const serving = () => queues.every((q, i) => ledgers.get(q)!.acked.size > before[i]!);
      for (const until = Date.now() + 15_000; !serving() && Date.now() < until; ) await new Promise((r) => setTimeout(r, 10));
      await new Promise((r) => setTimeout(r, 300 + Math.floor(Math.random() * 900)));
      await hub.kill('SIGKILL');
      stop.now = true;
      await Promise.all(work);
      hub = await startHubProcess({ dataDir, port });
    }
    for (const q of queues) {
      const ledger = ledgers.get(q)!;
      const left = await drain(hub, q, ledger);
      assert.ok(ledger.acked.size > 100, `${q}: load ran (${ledger.acked.size} acknowledged sends)`);
      assert.ok(ledger.deleted.size > 50, `${q}: consumers ran (${ledger.deleted.size} acknowledged deletes)`);
      const lost = [...ledger.acked].filter((b) => !ledger.received.has(b) && !left.has(b));
      assert.deepEqual(lost.slice(0, 10), [], `${q}: ${lost.length} acknowledged messages were never delivered`);
      assert.deepEqual(ledger.resurrected.slice(0, 10), [], `${q}: deleted messages came back`);
    }
  } finally {
    await hub.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  }
});
