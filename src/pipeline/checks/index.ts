/**
 * The built-in checks, built from `config.checks` in a fixed order: sanctions screening (RR04), amount limits
 * (AM02), business calendar (DT01, TM01). The stage runs every check, and a payment takes the reason of the first
 * check that rejects it, so a sanctions hit is always what a screened payment is rejected for.
 *
 * Public API of the checks; the modules behind it are internal.
 */
import type { Config } from '../../config/schema.js';
import type { Logger } from '../../log.js';
import type { PaymentCheck } from '../checks.js';
import { calendarCheck, compileCalendar } from './calendar.js';
import { limitsCheck, toMinorLimits, type ClientSettings } from './limits.js';
import { sanctionsCheck } from './sanctions.js';
import { SanctionsListFile } from './sanctions-file.js';

export type ChecksConfig = Config['checks'];
export type { ClientSettings } from './limits.js';
export { CALENDAR_CHECK, judgeDate, localDateTime, type CalendarRules } from './calendar.js';
export { LIMITS_CHECK, LIMITS_SETTING, MESSAGE_LIMITS_SETTING } from './limits.js';
export { SANCTIONS_CHECK, normalizeName, parseSanctionsList, SanctionsListError, type SanctionsList } from './sanctions.js';
export { SanctionsListFile } from './sanctions-file.js';

export interface ChecksDeps {
  /** A client's settings (null when it has none), read for per-client limits. Omitted: no per-client overrides. */
  clientSettings?: (clientId: string) => Promise<ClientSettings | null>;
  logger: Logger;
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

  sanctions?.start();
  deps.logger.info({ checks: checks.map((c) => c.name) }, 'payment checks configured');
  return {
    checks,
    sanctions,
    close: () => sanctions?.close(),
  };
}
