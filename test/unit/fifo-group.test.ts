/**
 * The FIFO group of a transaction's stage messages (workflow.fifoGroup), read from real messages: the debtor
 * account by default, one group per client, or none.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { groupKey } from '../../src/pipeline/intake.js';
import { readSubmission } from '../../src/pipeline/submission.js';
import { pacs008 } from './checks/messages.js';

test('debtor (default): sender + debtor account, so two accounts of one client run in parallel', () => {
  const a = readSubmission(pacs008([{ amount: '1' }]));
  const debtor = a.payments[0]?.debtorAccount;
  assert.ok(debtor, 'the message has a debtor account');
  assert.equal(groupKey('client-a', a, 'debtor', 't1'), `client-a:${debtor}`);
  assert.notEqual(groupKey('client-a', a, 'debtor', 't1'), groupKey('client-b', a, 'debtor', 't1'), 'never shared between clients');
});

test('sender: one order for all of a client; message: every message on its own', () => {
  const a = readSubmission(pacs008([{ amount: '1' }]));
  assert.equal(groupKey('client-a', a, 'sender', 't1'), 'client-a:');
  assert.equal(groupKey('client-a', a, 'message', 't1'), 'client-a:t1');
  assert.notEqual(groupKey('client-a', a, 'message', 't1'), groupKey('client-a', a, 'message', 't2'));
});

test('a group id stays within what the queues take: printable, at most 128 characters', () => {
  const a = readSubmission(pacs008([{ amount: '1' }]));
  const key = groupKey(`client ${'x'.repeat(200)}`, a, 'debtor', 't1');
  assert.equal(key.length, 128);
  assert.match(key, /^[\x21-\x7e]+$/);
});
