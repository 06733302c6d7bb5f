/**
 * ISO 8601 dates and date-times as the ISO 20022 schemas type them (xs:date, xs:dateTime), checked without the
 * Date object so that '2024-02-30' is refused instead of rolled over to March.
 */

const DATE = /^(\d{4})-(\d{2})-(\d{2})(?:Z|[+-](?:(?:0\d|1[0-3]):[0-5]\d|14:00))?$/;
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?:Z|[+-](?:(?:0\d|1[0-3]):[0-5]\d|14:00))?$/;

function daysIn(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

function validDay(y: string, m: string, d: string): boolean {
  const year = Number(y);
  const month = Number(m);
  const day = Number(d);
  return year >= 1 && month >= 1 && month <= 12 && day >= 1 && day <= daysIn(year, month);
}

export function isIsoDate(value: string): boolean {
  const m = DATE.exec(value);
  return m !== null && validDay(m[1]!, m[2]!, m[3]!);
}

export function isIsoDateTime(value: string): boolean {
  const m = DATE_TIME.exec(value);
  if (m === null || !validDay(m[1]!, m[2]!, m[3]!)) return false;
  const hour = Number(m[4]);
  const minute = Number(m[5]);
  const second = Number(m[6]);
  // xs:dateTime allows 24:00:00 for the end of a day, and nothing later.
  if (hour === 24) return minute === 0 && second === 0;
  return hour < 24 && minute < 60 && second < 60;
}
