/**
 * Business calendar: the settlement date of each payment against "today" in the calendar's time zone, its
 * business days and holidays, and the cut-off time. Local dates and times come from Intl.DateTimeFormat (the
 * IANA time zone database Node ships), so daylight saving changes need no code here.
 *
 * For each payment, with D its settlement date (IntrBkSttlmDt; pain.001 ReqdExctnDt; today when absent) and
 * today/now the local date and time of the check in the payment currency's time zone, the first rule that
 * applies decides:
 *
 * | rule                                          | code |
 * | --------------------------------------------- | ---- |
 * | D is not a valid calendar date                | DT01 |
 * | D is before today                             | DT01 |
 * | D is more than maxDaysAhead days after today  | DT01 |
 * | D is not a business day, or is a holiday      | DT01 |
 * | D is today and now is at or after the cut-off | TM01 |
 *
 * Per-currency rules replace the calendar's time zone, cut-off, business days or holidays for that currency.
 */
import { MxError } from '../../errors.js';
import type { Config } from '../../config/schema.js';
import type { CheckRejection, PaymentCheck } from '../checks.js';
import { CHECKED_FAMILIES, settlementDates } from './subjects.js';

export type CalendarConfig = Config['checks']['calendar'];
export type Weekday = 'MON' | 'TUE' | 'WED' | 'THU' | 'FRI' | 'SAT' | 'SUN';

const WEEKDAY_BY_UTC_DAY: readonly Weekday[] = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];
const DAY_MS = 86_400_000;

export interface CalendarRules {
  timeZone: string;
  /** HH:MM, or null for no cut-off. */
  cutoff: string | null;
  businessDays: ReadonlySet<Weekday>;
  holidays: ReadonlySet<string>;
}

export interface LocalDateTime {
  /** YYYY-MM-DD */
  date: string;
  /** HH:MM:SS, 00:00:00 to 23:59:59 */
  time: string;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    });
    // One formatter per configured time zone: the set is bounded by the configuration.
    formatters.set(timeZone, f);
  }
  return f;
}

/** Whether Intl knows the IANA time zone. */
export function isTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
    return true;
  } catch {
    return false;
  }
}

/** The wall-clock date and time of an instant in a time zone. */
export function localDateTime(epochMs: number, timeZone: string): LocalDateTime {
  const parts: Record<string, string> = {};
  for (const p of formatter(timeZone).formatToParts(new Date(epochMs))) parts[p.type] = p.value;
  const year = (parts.year ?? '').padStart(4, '0');
  return { date: `${year}-${parts.month}-${parts.day}`, time: `${parts.hour}:${parts.minute}:${parts.second}` };
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Epoch ms of a valid YYYY-MM-DD at 00:00 UTC, or undefined for anything else (2026-02-30 included). */
function dateUtc(date: string): number | undefined {
  const m = DATE.exec(date);
  if (m === null) return undefined;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const at = Date.UTC(y, mo - 1, d);
  const check = new Date(at);
  if (check.getUTCFullYear() !== y || check.getUTCMonth() !== mo - 1 || check.getUTCDate() !== d) return undefined;
  return at;
}

export function isValidDate(date: string): boolean {
  return dateUtc(date) !== undefined;
}

/** Day of the week of a calendar date (the date alone, in no time zone). */
export function weekdayOf(date: string): Weekday {
  const at = dateUtc(date);
  if (at === undefined) throw new Error(`assertion failed: ${date} is not a date`);
  return WEEKDAY_BY_UTC_DAY[new Date(at).getUTCDay()]!;
}

/** Whole days from `from` to `to` (both valid dates). */
export function daysBetween(from: string, to: string): number {
  return Math.round((dateUtc(to)! - dateUtc(from)!) / DAY_MS);
}

export interface DateVerdict {
  code: 'DT01' | 'TM01';
  text: string;
}

/** Judges one settlement date (undefined: the payment gives none and settles today). Null when it may settle. */
export function judgeDate(rules: CalendarRules, options: { date: string | undefined; now: number; maxDaysAhead: number }): DateVerdict | null {
  const local = localDateTime(options.now, rules.timeZone);
  const today = local.date;
  const date = options.date ?? today;
  const what = options.date === undefined ? `today (${today}, ${rules.timeZone})` : `settlement date ${date}`;
  if (!isValidDate(date)) return { code: 'DT01', text: `${what} is not a valid date` };
  if (date < today) return { code: 'DT01', text: `${what} is in the past (today is ${today} in ${rules.timeZone})` };
  if (daysBetween(today, date) > options.maxDaysAhead) {
    return { code: 'DT01', text: `${what} is more than ${options.maxDaysAhead} days ahead` };
  }
  if (rules.holidays.has(date)) return { code: 'DT01', text: `${what} is a holiday` };
  const weekday = weekdayOf(date);
  if (!rules.businessDays.has(weekday)) return { code: 'DT01', text: `${what} is not a business day (${weekday})` };
  if (date === today && rules.cutoff !== null && local.time >= `${rules.cutoff}:00`) {
    return { code: 'TM01', text: `received at ${local.time.slice(0, 5)} ${rules.timeZone}, after the cut-off ${rules.cutoff} for ${date}` };
  }
  return null;
}

export interface Calendar {
  maxDaysAhead: number;
  rulesFor(currency: string | null): CalendarRules;
}

/**
 * Checks a calendar configuration (time zones known to Intl, real holiday dates) and resolves the per-currency
 * rules once. Null when the calendar is off (no time zone). Throws CONFIG_INVALID.
 */
export function compileCalendar(config: CalendarConfig): Calendar | null {
  if (config.timeZone === null) {
    if (Object.keys(config.currencies).length > 0) {
      throw new MxError('CONFIG_INVALID', 'checks.calendar.currencies needs checks.calendar.timeZone (the calendar is off without it)');
    }
    return null;
  }
  const rules = (where: string, r: { timeZone: string; cutoff: string | null; businessDays: readonly Weekday[]; holidays: readonly string[] }): CalendarRules => {
    if (!isTimeZone(r.timeZone)) throw new MxError('CONFIG_INVALID', `${where}.timeZone: unknown time zone ${r.timeZone}`);
    const bad = r.holidays.find((d) => !isValidDate(d));
    if (bad !== undefined) throw new MxError('CONFIG_INVALID', `${where}.holidays: ${bad} is not a date`);
    return { timeZone: r.timeZone, cutoff: r.cutoff, businessDays: new Set(r.businessDays), holidays: new Set(r.holidays) };
  };
  const base = { timeZone: config.timeZone, cutoff: config.cutoff, businessDays: config.businessDays, holidays: config.holidays };
  const fallback = rules('checks.calendar', base);
  const byCurrency = new Map<string, CalendarRules>();
  for (const [currency, over] of Object.entries(config.currencies)) {
    byCurrency.set(
      currency,
      rules(`checks.calendar.currencies.${currency}`, {
        timeZone: over.timeZone ?? base.timeZone,
        cutoff: over.cutoff === undefined ? base.cutoff : over.cutoff,
        businessDays: over.businessDays ?? base.businessDays,
        holidays: over.holidays ?? base.holidays,
      }),
    );
  }
  return { maxDaysAhead: config.maxDaysAhead, rulesFor: (currency) => (currency === null ? fallback : byCurrency.get(currency) ?? fallback) };
}

export const CALENDAR_CHECK = 'calendar';

export function calendarCheck(calendar: Calendar): PaymentCheck {
  return {
    name: CALENDAR_CHECK,
    run({ submission, now }) {
      if (!CHECKED_FAMILIES.has(submission.family)) return [];
      const dates = settlementDates(submission.model);
      const out: CheckRejection[] = [];
      for (const p of submission.payments) {
        const verdict = judgeDate(calendar.rulesFor(p.currency), { date: dates[p.index], now, maxDaysAhead: calendar.maxDaysAhead });
        if (verdict !== null) out.push({ index: p.index, code: verdict.code, text: verdict.text, check: CALENDAR_CHECK });
      }
      return out;
    },
  };
}
