/**
 * Client attributes besides scopes (those are in scopes.ts): what a client's name, scheme profile and settings
 * may be, checked when a client is created or changed, and how a handler reads one setting back in the shape it
 * expects. Settings are opaque to the hub's auth layer; the component that uses a setting owns its schema.
 */
import { Value } from '@sinclair/typebox/value';
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { MxError } from '../errors.js';
import type { ClientSettings } from '../ports/auth.js';
import { PROFILES } from '../iso20022/profiles/index.js';

const CLIENT_NAME_MAX = 200;
const SETTINGS_BYTES_MAX = 16 * 1024;

/** Reads one per-client setting through a schema; throws INVALID_ATTRIBUTE when it is stored in another shape. */
export function clientSetting<S extends TSchema>(client: { settings: ClientSettings }, key: string, schema: S): Static<S> | undefined {
  const value = client.settings[key];
  if (value === undefined) return undefined;
  if (!Value.Check(schema, value)) {
    const first = [...Value.Errors(schema, value)][0];
    throw new MxError('INVALID_ATTRIBUTE', `client setting ${key} is invalid${first ? `: ${first.path || '/'} ${first.message}` : ''}`);
  }
  return value;
}

export function checkName(value: string): string {
  const name = value.trim();
  if (name.length === 0 || name.length > CLIENT_NAME_MAX) throw new MxError('INVALID_ATTRIBUTE', `a client name is 1-${CLIENT_NAME_MAX} characters`);
  return name;
}

export function checkProfile(profile: string | null): string | null {
  if (profile === null || profile === '') return null;
  if (!PROFILES.has(profile)) throw new MxError('INVALID_ATTRIBUTE', `unknown profile ${profile} (known: ${[...PROFILES.keys()].join(', ')})`);
  return profile;
}

/** The client setting that overrides `workflow.slaMs`: the deadline of its payments whose message sets none. */
export const SLA_SETTING = 'slaMs';
const SlaSchema = Type.Integer({ minimum: 100, maximum: 86_400_000 });

/** A client's SLA in ms, or null without one (a stored value of another shape counts as none). */
export function clientSlaMs(settings: ClientSettings | null | undefined): number | null {
  const value = settings?.[SLA_SETTING];
  return Value.Check(SlaSchema, value) ? value : null;
}

/**
 * The client setting that has its status reports pushed: `{url, secret}`. The URL takes a POST of each report; the
 * secret signs it (HMAC-SHA256) and is never shown back (redactSettings).
 */
export const WEBHOOK_SETTING = 'webhook';
const WebhookSchema = Type.Object(
  {
    url: Type.String({ pattern: '^https?://[^\\s]+$', maxLength: 2048 }),
    secret: Type.String({ minLength: 16, maxLength: 256 }),
  },
  { additionalProperties: false },
);
export type Webhook = Static<typeof WebhookSchema>;

/** A client's webhook, or null without one (a stored value of another shape counts as none). */
export function clientWebhook(settings: ClientSettings | null | undefined): Webhook | null {
  const value = settings?.[WEBHOOK_SETTING];
  return Value.Check(WebhookSchema, value) ? value : null;
}

/**
 * The client setting that has its status reports published to a broker the hub is bridged to (`bridges.*` of the
 * configuration): `{"amqp": "<routing key>"}`, published to `bridges.amqp.exchange` with that routing key.
 */
export const BRIDGE_SETTING = 'bridge';
const BridgeSchema = Type.Object(
  {
    amqp: Type.String({ minLength: 1, maxLength: 255, pattern: '^[^\\s]+$' }),
  },
  { additionalProperties: false },
);
export type Bridge = Static<typeof BridgeSchema>;

/** A client's bridge, or null without one (a stored value of another shape counts as none). */
export function clientBridge(settings: ClientSettings | null | undefined): Bridge | null {
  const value = settings?.[BRIDGE_SETTING];
  return Value.Check(BridgeSchema, value) ? value : null;
}

/** Settings as they may be shown: the webhook's secret replaced. */
export function redactSettings(settings: ClientSettings): Record<string, unknown> {
  const webhook = settings[WEBHOOK_SETTING];
  if (typeof webhook !== 'object' || webhook === null || !('secret' in webhook)) return { ...settings };
  return { ...settings, [WEBHOOK_SETTING]: { ...webhook, secret: '(set)' } };
}

export function checkSettings(settings: Record<string, unknown>): Record<string, unknown> {
  if (typeof settings !== 'object' || settings === null || Array.isArray(settings)) {
    throw new MxError('INVALID_ATTRIBUTE', 'client settings are a JSON object');
  }
  if (JSON.stringify(settings).length > SETTINGS_BYTES_MAX) throw new MxError('INVALID_ATTRIBUTE', `client settings are at most ${SETTINGS_BYTES_MAX} bytes of JSON`);
  const sla = settings[SLA_SETTING];
  if (sla !== undefined && !Value.Check(SlaSchema, sla)) {
    throw new MxError('INVALID_ATTRIBUTE', `client setting ${SLA_SETTING} is an integer number of milliseconds, 100 to 86400000`);
  }
  const webhook = settings[WEBHOOK_SETTING];
  if (webhook !== undefined && !Value.Check(WebhookSchema, webhook)) {
    throw new MxError('INVALID_ATTRIBUTE', `client setting ${WEBHOOK_SETTING} is {"url": "http(s)://...", "secret": "16 to 256 characters"}`);
  }
  const bridge = settings[BRIDGE_SETTING];
  if (bridge !== undefined && !Value.Check(BridgeSchema, bridge)) {
    throw new MxError('INVALID_ATTRIBUTE', `client setting ${BRIDGE_SETTING} is {"amqp": "<routing key: 1 to 255 characters, no spaces>"}`);
  }
  return settings;
}
