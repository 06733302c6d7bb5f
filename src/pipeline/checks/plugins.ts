/**
 * Checks of the operator's own (`checks.plugins`): ES modules loaded once at start, each exporting
 *
 *   export async function createCheck({ options, logger }) { return { name: 'my-check', run(context) { ... } }; }
 *
 * where `run` receives the same CheckContext as the built-in checks (client id, parsed submission, Clock time) and
 * returns the rejections it finds (see ../checks.ts). A plug-in's rejections reach status reports, so they are held
 * to what a report may carry: a payment index of the message (or null), a four-character reason code of the
 * external code lists, a text of at most 105 characters (AddtlInf) and optionally an operator-only `detail`. A
 * rejection outside that, or a `run` that throws, fails the processing stage, which retries it and in the end
 * dead-letters the message with the reason: a broken plug-in stops payments, it never lets one through unchecked.
 *
 * A module that cannot be loaded, or whose `createCheck` throws or returns something else than a check, stops the
 * start with CONFIG_INVALID, naming the entry.
 */
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { MxError } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { CheckContext, CheckRejection, PaymentCheck } from '../checks.js';
import { CHECKED_FAMILIES } from './subjects.js';

export interface CheckPluginEntry {
  /** A path (relative to the working directory) or a package name. */
  module: string;
  /** Passed to `createCheck` as is. */
  options: Record<string, unknown>;
}

export interface CheckPluginContext {
  options: Record<string, unknown>;
  logger: Logger;
}

/** What a plug-in module exports. */
export type CreateCheck = (context: CheckPluginContext) => PaymentCheck | Promise<PaymentCheck>;

/** Names of checks: the built-in ones are taken. */
export const CHECK_NAME = /^[a-z][a-z0-9_-]{0,63}$/;
/** An external code list's code (ExternalStatusReason1Code and the like): four letters or digits. */
const REASON_CODE = /^[A-Z0-9]{4}$/;
/** AddtlInf of a status report's reason is at most 105 characters. */
const TEXT_MAX = 105;
const DETAIL_MAX = 1000;

function specifier(module: string): string {
  if (module.startsWith('.') || isAbsolute(module)) return pathToFileURL(resolve(module)).href;
  return module;
}

/** Loads the configured plug-ins, in order. `taken` holds the names already in use (the built-in checks). */
export async function loadCheckPlugins(entries: readonly CheckPluginEntry[], logger: Logger, taken: ReadonlySet<string>): Promise<PaymentCheck[]> {
  const names = new Set(taken);
  const checks: PaymentCheck[] = [];
  for (const [i, entry] of entries.entries()) {
    const where = `checks.plugins[${i}] (${entry.module})`;
    let exported: unknown;
    try {
      exported = ((await import(specifier(entry.module))) as { createCheck?: unknown }).createCheck;
    } catch (cause) {
      throw new MxError('CONFIG_INVALID', `${where}: cannot be loaded: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    }
    if (typeof exported !== 'function') throw new MxError('CONFIG_INVALID', `${where}: exports no createCheck function`);
    let check: unknown;
    try {
      check = await (exported as CreateCheck)({ options: entry.options, logger: logger.child({ check: entry.module }) });
    } catch (cause) {
      throw new MxError('CONFIG_INVALID', `${where}: createCheck failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    }
    const candidate = check as Partial<PaymentCheck> | null;
    if (typeof candidate !== 'object' || candidate === null || typeof candidate.run !== 'function' || typeof candidate.name !== 'string') {
      throw new MxError('CONFIG_INVALID', `${where}: createCheck returned no check (an object with a name and a run function)`);
    }
    if (!CHECK_NAME.test(candidate.name)) throw new MxError('CONFIG_INVALID', `${where}: check name "${candidate.name}" is not ${CHECK_NAME.source}`);
    if (names.has(candidate.name)) throw new MxError('CONFIG_INVALID', `${where}: a check named "${candidate.name}" exists already`);
    names.add(candidate.name);
    checks.push(guarded(candidate as PaymentCheck));
  }
  return checks;
}

/** A plug-in's check whose rejections are checked before they can reach a status report. */
function guarded(check: PaymentCheck): PaymentCheck {
  return {
    name: check.name,
    async run(context: CheckContext): Promise<CheckRejection[]> {
      // The payments a check holds, as the built-in ones: never a cancellation request (camt.056), whose payments
      // are the ones it would stop, a status request (pacs.028), nor an answer.
      if (!CHECKED_FAMILIES.has(context.submission.family)) return [];
      const out = await check.run(context);
      if (!Array.isArray(out)) throw new Error(`check ${check.name} returned ${typeof out}, not a list of rejections`);
      const payments = context.submission.payments.length;
      return out.map((r: Partial<CheckRejection>, i) => {
        const bad = (what: string) => new Error(`check ${check.name}: rejection ${i} ${what}`);
        if (typeof r !== 'object' || r === null) throw bad('is not an object');
        const index = r.index ?? null;
        if (index !== null && (!Number.isInteger(index) || index < 0 || index >= payments)) throw bad(`names payment ${String(index)} of ${payments}`);
        if (typeof r.code !== 'string' || !REASON_CODE.test(r.code)) throw bad(`has code ${String(r.code)}, not a four-character reason code`);
        if (typeof r.text !== 'string' || r.text.length > TEXT_MAX) throw bad(`needs a text of at most ${TEXT_MAX} characters`);
        if (r.detail !== undefined && (typeof r.detail !== 'string' || r.detail.length > DETAIL_MAX)) throw bad(`has a detail that is not a string of at most ${DETAIL_MAX}`);
        return { index, code: r.code, text: r.text, ...(r.detail !== undefined ? { detail: r.detail } : {}), check: check.name };
      });
    },
  };
}

/**
 * The checks in the order they run: those `order` names first, in its order, then the rest in the order given.
 * A name in `order` that is no check's (and no built-in check's that is off) is CONFIG_INVALID.
 */
export function orderChecks(checks: readonly PaymentCheck[], order: readonly string[], known: ReadonlySet<string>): PaymentCheck[] {
  const seen = new Set<string>();
  for (const name of order) {
    if (seen.has(name)) throw new MxError('CONFIG_INVALID', `checks.order names ${name} twice`);
    seen.add(name);
    if (!known.has(name) && !checks.some((c) => c.name === name)) {
      throw new MxError('CONFIG_INVALID', `checks.order names ${name}, which is no check (known: ${[...new Set([...known, ...checks.map((c) => c.name)])].join(', ')})`);
    }
  }
  const rank = (c: PaymentCheck) => {
    const at = order.indexOf(c.name);
    return at === -1 ? order.length : at;
  };
  return checks.map((c, i) => ({ c, i })).sort((a, b) => rank(a.c) - rank(b.c) || a.i - b.i).map(({ c }) => c);
}
