/**
 * The client settings the workflow reads: `slaMs` and `webhook` are checked when stored (INVALID_ATTRIBUTE), read
 * back only in their shape, and the webhook's secret is never shown.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isMxError } from '../../src/errors.js';
import { checkSettings, clientSlaMs, clientWebhook, redactSettings } from '../../src/auth/attributes.js';

const refused = (settings: Record<string, unknown>) => {
  try {
    checkSettings(settings);
  } catch (error) {
    return isMxError(error) && error.code === 'INVALID_ATTRIBUTE' ? error.message : `unexpected: ${String(error)}`;
  }
  return null;
};

const SECRET = 'sixteen-chars-ok';

test('a webhook is an http(s) URL and a secret of 16 to 256 characters, and nothing else', () => {
  assert.equal(refused({ webhook: { url: 'https://hooks.example/mx', secret: SECRET } }), null);
  assert.equal(refused({ webhook: { url: 'http://127.0.0.1:9000/', secret: 'x'.repeat(256) } }), null);
  for (const webhook of [
    { url: 'ftp://hooks.example', secret: SECRET },
    { url: 'https://hooks.example/a b', secret: SECRET },
    { url: 'https://hooks.example', secret: 'fifteen-chars!!' },
    { url: 'https://hooks.example', secret: 'x'.repeat(257) },
    { url: 'https://hooks.example' },
    { url: 'https://hooks.example', secret: SECRET, extra: true },
    'https://hooks.example',
  ]) {
    assert.match(refused({ webhook }) ?? 'accepted', /client setting webhook is/, JSON.stringify(webhook));
  }
});

test('settings read back only in their shape; a webhook secret is shown as (set)', () => {
  const webhook = { url: 'https://hooks.example/mx', secret: SECRET };
  assert.deepEqual(clientWebhook({ webhook }), webhook);
  assert.equal(clientWebhook({ webhook: { url: 'https://hooks.example' } }), null);
  assert.equal(clientWebhook(null), null);
  assert.equal(clientSlaMs({ slaMs: 3000 }), 3000);
  assert.equal(clientSlaMs({ slaMs: '3000' }), null);
  assert.deepEqual(redactSettings({ slaMs: 3000, webhook }), { slaMs: 3000, webhook: { url: 'https://hooks.example/mx', secret: '(set)' } });
  assert.deepEqual(redactSettings({ slaMs: 3000 }), { slaMs: 3000 });
});
