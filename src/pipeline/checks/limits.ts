/**
 * Amount limits per currency: the largest amount of one payment (AM02 for that payment) and the largest total of
 * one message (AM02 for the whole message). Configured for every client; a client's settings may override them
 * per currency (`limits` and `messageLimits`, same shape: currency -> decimal string). Amounts are compared as
 * bigint minor units with the currency's ISO 4217 exponent, never as numbers.
 *
 * A payment whose amount or currency cannot be read is left to validation, which rejects it on its own.
 */
import { Value } from '@sinclair/typebox/value';
import { CurrencyAmountsSchema } from '../../config/schema.js';
import { MxError } from '../../errors.js';
import { fromMinorUnits, toMinorUnits } from '../../iso20022/index.js';
import type { CheckRejection, PaymentCheck } from '../checks.js';
import { CHECKED_FAMILIES } from './subjects.js';

/** currency -> decimal string, as configured or stored in a client's settings. */
export type CurrencyAmounts = Readonly<Record<string, string>>;
/** currency -> minor units. */
export type MinorLimits = ReadonlyMap<string, bigint>;

/** A client's opaque settings object, as the auth service stores it. */
export type ClientSettings = Readonly<Record<string, unknown>>;

export const LIMITS_CHECK = 'limits';
/** Client setting keys read by this check. */
export const LIMITS_SETTING = 'limits';
export const MESSAGE_LIMITS_SETTING = 'messageLimits';

/**
 * Converts a currency -> amount map to minor units. Throws `code` (CONFIG_INVALID for the config,
 * INVALID_ATTRIBUTE for a client's settings) for an unknown currency or more decimals than it has.
 */
export function toMinorLimits(amounts: CurrencyAmounts, where: string, code: 'CONFIG_INVALID' | 'INVALID_ATTRIBUTE'): MinorLimits {
  const out = new Map<string, bigint>();
  for (const [currency, value] of Object.entries(amounts)) {
    try {
      out.set(currency, toMinorUnits(value, currency));
    } catch (cause) {
      throw new MxError(code, `${where}.${currency}: ${(cause as Error).message}`, { cause });
    }
  }
  return out;
}

/** Reads one limits key of a client's settings; undefined when absent, INVALID_ATTRIBUTE when malformed. */
export function clientLimits(settings: ClientSettings | null, key: string): MinorLimits | undefined {
  const value = settings?.[key];
  if (value === undefined || value === null) return undefined;
  if (!Value.Check(CurrencyAmountsSchema, value)) {
    const first = [...Value.Errors(CurrencyAmountsSchema, value)][0];
    throw new MxError('INVALID_ATTRIBUTE', `client setting ${key} is invalid${first ? `: ${first.path || '/'} ${first.message}` : ''}`);
  }
  return toMinorLimits(value, `client setting ${key}`, 'INVALID_ATTRIBUTE');
}

/** The configured limits with a client's overrides on top, currency by currency. */
function effective(base: MinorLimits, override: MinorLimits | undefined): MinorLimits {
  return override === undefined ? base : new Map([...base, ...override]);
}

export interface LimitsCheckOptions {
  payment: MinorLimits;
  message: MinorLimits;
  /** A client's settings, or null for a client without any (or unknown). Omitted: no per-client overrides. */
  clientSettings?: ((clientId: string) => Promise<ClientSettings | null>) | undefined;
}

export function limitsCheck(options: LimitsCheckOptions): PaymentCheck {
  return {
    name: LIMITS_CHECK,
    async run({ clientId, submission }) {
      if (!CHECKED_FAMILIES.has(submission.family)) return [];
      let payment = options.payment;
      let message = options.message;
      if (options.clientSettings !== undefined) {
        const settings = await options.clientSettings(clientId);
        payment = effective(payment, clientLimits(settings, LIMITS_SETTING));
        message = effective(message, clientLimits(settings, MESSAGE_LIMITS_SETTING));
      }
      if (payment.size === 0 && message.size === 0) return [];

      const out: CheckRejection[] = [];
      const totals = new Map<string, bigint>();
      for (const p of submission.payments) {
        if (p.amount === null || p.currency === null) continue;
        let minor: bigint;
        try {
          minor = toMinorUnits(p.amount, p.currency);
        } catch {
          continue; // validation reports the malformed amount or unknown currency
        }
        totals.set(p.currency, (totals.get(p.currency) ?? 0n) + minor);
        const limit = payment.get(p.currency);
        if (limit !== undefined && minor > limit) {
          out.push({
            index: p.index,
            code: 'AM02',
            text: `amount ${fromMinorUnits(minor, p.currency)} ${p.currency} is above the limit of ${fromMinorUnits(limit, p.currency)} ${p.currency} per payment`,
            check: LIMITS_CHECK,
          });
        }
      }
      for (const [currency, total] of totals) {
        const limit = message.get(currency);
        if (limit !== undefined && total > limit) {
          out.push({
            index: null,
            code: 'AM02',
            text: `message total ${fromMinorUnits(total, currency)} ${currency} is above the limit of ${fromMinorUnits(limit, currency)} ${currency} per message`,
            check: LIMITS_CHECK,
          });
        }
      }
      return out;
    },
  };
}
