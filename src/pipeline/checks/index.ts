/**
 * The checks, built from `config.checks`: the built-in ones, sanctions screening (RR04), amount limits (AM02),
 * business calendar (DT01, TM01), in that order, then the operator's own (`checks.plugins`, loaded by plugins.ts),
 * unless `checks.order` says otherwise. The stage runs every check, and a payment takes the reason of the first
 * check that rejects it: by default a sanctions hit is always what a screened payment is rejected for.
 *
 * Public API of the checks; the modules behind it are internal.
 */
import type { Config } from '../../config/schema.js';
import type { Logger } from '../../log.js';
import type { PaymentCheck } from '../checks.js';
import { CALENDAR_CHECK, calendarCheck, compileCalendar } from './calendar.js';
import { LIMITS_CHECK, limitsCheck, toMinorLimits, type ClientSettings } from './limits.js';
import { orderChecks } from './plugins.js';
import { SANCTIONS_CHECK, sanctionsCheck } from './sanctions.js';
import { SanctionsListFile } from './sanctions-file.js';

export type ChecksConfig = Config['checks'];
export type { ClientSettings } from './limits.js';
export { CALENDAR_CHECK, judgeDate, localDateTime, type CalendarRules } from './calendar.js';
export { LIMITS_CHECK, LIMITS_SETTING, MESSAGE_LIMITS_SETTING } from './limits.js';
export { SANCTIONS_CHECK, normalizeName, parseSanctionsList, SanctionsListError, type SanctionsList } from './sanctions.js';
export { SanctionsListFile } from './sanctions-file.js';
export { loadCheckPlugins, type CheckPluginContext, type CreateCheck } from './plugins.js';

/** The names of the built-in checks, whether configured or not. */
export const BUILTIN_CHECKS: ReadonlySet<string> = new Set([SANCTIONS_CHECK, LIMITS_CHECK, CALENDAR_CHECK]);

export interface ChecksDeps {
  /** A client's settings (null when it has none), read for per-client limits. Omitted: no per-client overrides. */
  clientSettings?: (clientId: string) => Promise<ClientSettings | null>;
  logger: Logger;
  /** The operator's checks (`loadCheckPlugins` of `config.plugins`), after the built-in ones unless `config.order` says otherwise. */
  plugins?: readonly PaymentCheck[];
}

export interface BuiltChecks {
  /** In the order they run; pass to the workflow's `checks`. */
  readonly checks: readonly PaymentCheck[];
  /** The sanctions list file, when screening is on (for its stats and reload events). */
  readonly sanctions: SanctionsListFile | null;
  /** Stops background work (the list file poll). */
  close(): void;
}

/**
 * Builds the configured checks. Throws CONFIG_INVALID for a configuration the schema cannot judge alone (an
 * unknown time zone, a limit with more decimals than its currency, an unreadable or malformed sanctions list).
 * Starts polling the sanctions list file; call close() on shutdown.
 */
export function buildChecks(config: ChecksConfig, deps: ChecksDeps): BuiltChecks {
  const checks: PaymentCheck[] = [];

  const payment = toMinorLimits(config.limits, 'checks.limits', 'CONFIG_INVALID');
  const message = toMinorLimits(config.messageLimits, 'checks.messageLimits', 'CONFIG_INVALID');
  const calendar = compileCalendar(config.calendar);

  let sanctions: SanctionsListFile | null = null;
  if (config.sanctions.file !== null) {
    sanctions = new SanctionsListFile({
      path: config.sanctions.file,
      reloadIntervalMs: config.sanctions.reloadIntervalMs,
      fileBytesMax: config.sanctions.fileBytesMax,
      entriesMax: config.sanctions.entriesMax,
      logger: deps.logger,
    });
    const file = sanctions;
    checks.push(sanctionsCheck(() => file.current()));
  }
  if (payment.size > 0 || message.size > 0 || deps.clientSettings !== undefined) {
    checks.push(limitsCheck({ payment, message, clientSettings: deps.clientSettings }));
  }
  if (calendar !== null) checks.push(calendarCheck(calendar));
  const ordered = orderChecks([...checks, ...(deps.plugins ?? [])], config.order, BUILTIN_CHECKS);

  sanctions?.start();
  deps.logger.info({ checks: ordered.map((c) => c.name) }, 'payment checks configured');
  return {
    checks: ordered,
    sanctions,
    close: () => sanctions?.close(),
  };
}
