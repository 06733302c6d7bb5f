/**
 * Crash test of the workflow: the hub runs as a child process under a continuous load of payments and is killed
 * with SIGKILL at random moments, 20 times, and restarted. At the end every accepted payment has exactly one
 * final status and exactly one status report (in the outbox and on the participant queue), and nothing
 * accepted is missing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startHubProcess, type HubProcess } from '../helpers/hub-process.js';
import { bootstrapToken, readBootstrapClient } from '../helpers/auth.js';
import { fresh, sample, withDebtorAccount } from '../helpers/e2e.js';
import { sharedIso20022Available } from '../helpers/shared.js';

const KILLS = 20;
/**
 * Far longer than the test: a payment that reaches a final status got there by the workflow, not by the timeout
 * sweeper (AB06), which would also give "one final status" to a payment the restarts lost track of.
 */
const HUB_ENV = { MXGATE_WORKFLOW_SLA_MS: '3600000' };
const SUBMITTERS = 6;
const skip = !sharedIso20022Available() && process.env.CI !== 'true' ? 'ISO 20022 reference material not found at ../shared/iso20022' : false;

async function submitLoop(hub: HubProcess, token: string, template: string, accepted: Set<string>, stop: { now: boolean }, prefix: string) {
  for (let n = 0; !stop.now; n++) {
    try {
      const res = await fetch(`${hub.url}/v1/messages`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/xml' },
        // Eight debtor accounts: eight FIFO groups, whose stage messages run concurrently and share commits.
        body: withDebtorAccount(fresh(template, `${prefix}n${n}`), `CRASH${n % 8}`),
      });
      if (res.status === 202) accepted.add(((await res.json()) as { transaction_id: string }).transaction_id);
      else await res.text();
    } catch {
      return; // the hub died mid-request: that submission was not acknowledged
    }
  }
}

test('20 SIGKILLs under load: every accepted payment ends with exactly one final status and one report', { skip, timeout: 300_000 }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'mxgate-wfcrash-'));
  const port = await freePort();
  const template = sample('pacs.008.001.08-cbpr-single.xml');
  const accepted = new Set<string>();
  let hub = await startHubProcess({ dataDir, port, env: HUB_ENV });
  try {
    for (let round = 0; round < KILLS; round++) {
      const token = await bootstrapToken(hub.url, dataDir);
      const stop = { now: false };
      const before = accepted.size;
      const loops = Array.from({ length: SUBMITTERS }, (_, i) => submitLoop(hub, token, template, accepted, stop, `r${round}s${i}`));
      // The kill falls at a random moment once the restarted hub accepts again: on a slow or busy machine its first
      // answers can take longer than the whole random delay, and a round without load would test nothing.
      for (const until = Date.now() + 15_000; accepted.size === before && Date.now() < until; ) await new Promise((r) => setTimeout(r, 10));
      await new Promise((r) => setTimeout(r, 150 + Math.floor(Math.random() * 600)));
      await hub.kill('SIGKILL');
      stop.now = true;
      await Promise.all(loops);
      hub = await startHubProcess({ dataDir, port, env: HUB_ENV });
    }
    assert.ok(accepted.size >= 100, `the load ran: ${accepted.size} payments accepted`);

    const token = await bootstrapToken(hub.url, dataDir);
    const headers = { authorization: `Bearer ${token}` };
    const finals = new Map<string, string>();
    const deadline = Date.now() + 60_000;
    while (finals.size < accepted.size && Date.now() < deadline) {
      for (const id of accepted) {
        if (finals.has(id)) continue;
        const res = await fetch(`${hub.url}/v1/transactions/${id}`, { headers });
        assert.equal(res.status, 200, `accepted transaction ${id} exists`);
        const view = (await res.json()) as { status: string; reason_code: string | null; history: Array<{ status: string }> };
        if (!['ACSC', 'RJCT', 'PART', 'CANC'].includes(view.status)) continue;
        const terminal = view.history.filter((h) => ['ACSC', 'RJCT', 'PART', 'CANC'].includes(h.status));
        assert.equal(terminal.length, 1, `${id}: one final status in ${JSON.stringify(view.history)}`);
        // Every message is valid and new: anything but ACSC (a duplicate verdict, a timeout) is a fault of the hub.
        assert.equal(view.status, 'ACSC', `${id}: settled, not ${view.status} ${String(view.reason_code)}`);
        finals.set(id, view.status);
      }
      if (finals.size < accepted.size) await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(finals.size, accepted.size, 'every accepted payment reached a final status');

    // Exactly one report per payment on the participant queue (and none for anything not accepted twice).
    const client = readBootstrapClient(dataDir).client_id;
    const reports = new Map<string, number>();
    for (;;) {
      const res = await fetch(`${hub.url}/v1/queues/participant.${client}/messages?max=10`, { headers });
      const { messages } = (await res.json()) as { messages: Array<{ receipt_handle: string; attributes: Record<string, string> }> };
      if (messages.length === 0) break;
      for (const m of messages) reports.set(m.attributes.transaction_id!, (reports.get(m.attributes.transaction_id!) ?? 0) + 1);
      await fetch(`${hub.url}/v1/queues/participant.${client}/messages/delete`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify({ receipt_handles: messages.map((m) => m.receipt_handle) }),
      });
    }
    for (const id of accepted) {
      assert.equal(reports.get(id), 1, `${id}: exactly one status report delivered`);
      const out = await fetch(`${hub.url}/v1/outbox/${id}`, { headers });
      assert.equal(out.status, 200, `${id}: report in the outbox`);
      await out.text();
    }
  } finally {
    await hub.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  }
});
