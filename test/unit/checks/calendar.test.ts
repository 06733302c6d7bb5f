import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../../../src/config/index.js';
import { MxError } from '../../../src/errors.js';
import { calendarCheck, compileCalendar, localDateTime, weekdayOf, type Calendar } from '../../../src/pipeline/checks/calendar.js';
import { context, pacs008, pain001 } from './messages.js';

/** A calendar from the config loader, so schema defaults apply as in the hub. */
function calendar(settings: Record<string, unknown>): Calendar {
  const c = compileCalendar(loadConfig({ env: {}, overrides: { checks: { calendar: settings } } }).checks.calendar);
  assert.ok(c !== null);
  return c;
}

const at = (iso: string) => Date.parse(iso);

/** Codes of a one-payment pacs.008 settling on `date` (none: no IntrBkSttlmDt), checked at `now`. */
async function codes(cal: Calendar, now: string, date: string | undefined, currency = 'EUR'): Promise<string[]> {
  const xml = pacs008([{ settlementDate: date, currency }]);
  const out = await calendarCheck(cal).run(context(xml, { now: at(now) }));
  return out.map((r) => r.code);
}

describe('local date and time', () => {
  test('Europe/Berlin across the spring and autumn daylight saving changes', () => {
    assert.deepEqual(localDateTime(at('2026-03-29T00:59:00Z'), 'Europe/Berlin'), { date: '2026-03-29', time: '01:59:00' });
    assert.deepEqual(localDateTime(at('2026-03-29T01:00:00Z'), 'Europe/Berlin'), { date: '2026-03-29', time: '03:00:00' });
    assert.deepEqual(localDateTime(at('2026-10-25T00:59:59Z'), 'Europe/Berlin'), { date: '2026-10-25', time: '02:59:59' });
    assert.deepEqual(localDateTime(at('2026-10-25T01:00:00Z'), 'Europe/Berlin'), { date: '2026-10-25', time: '02:00:00' });
  });

  test('midnight is 00:00, never 24:00, and the date turns with the zone', () => {
    assert.deepEqual(localDateTime(at('2026-01-05T23:00:00Z'), 'Europe/Berlin'), { date: '2026-01-06', time: '00:00:00' });
    assert.deepEqual(localDateTime(at('2026-01-05T11:30:00Z'), 'Pacific/Auckland'), { date: '2026-01-06', time: '00:30:00' });
    assert.deepEqual(localDateTime(at('2026-01-06T07:30:00Z'), 'America/Los_Angeles'), { date: '2026-01-05', time: '23:30:00' });
  });

  test('weekday of a date', () => {
    assert.equal(weekdayOf('2026-01-05'), 'MON');
    assert.equal(weekdayOf('2026-01-10'), 'SAT');
    assert.equal(weekdayOf('2028-02-29'), 'TUE');
  });
});

describe('calendar check', () => {
  const berlin = () => calendar({ timeZone: 'Europe/Berlin', cutoff: '16:00', holidays: ['2026-12-25'] });

  test('a payment for a business day before the cut-off passes', async () => {
    assert.deepEqual(await codes(berlin(), '2026-01-05T09:00:00Z', '2026-01-05'), []);
    assert.deepEqual(await codes(berlin(), '2026-01-05T09:00:00Z', '2026-01-06'), []);
  });

  test('the cut-off is local wall-clock time in winter and in summer (TM01 from the cut-off minute on)', async () => {
    // 16:00 in Berlin is 15:00Z in winter (CET) and 14:00Z in summer (CEST).
    assert.deepEqual(await codes(berlin(), '2026-01-05T14:59:59Z', '2026-01-05'), []);
    assert.deepEqual(await codes(berlin(), '2026-01-05T15:00:00Z', '2026-01-05'), ['TM01']);
    assert.deepEqual(await codes(berlin(), '2026-07-06T13:59:59Z', '2026-07-06'), []);
    assert.deepEqual(await codes(berlin(), '2026-07-06T14:00:00Z', '2026-07-06'), ['TM01']);
    // After the cut-off, tomorrow's payments still pass.
    assert.deepEqual(await codes(berlin(), '2026-07-06T14:00:00Z', '2026-07-07'), []);
  });

  test('New York cut-off on the Monday after the spring change and the Friday before it', async () => {
    const ny = calendar({ timeZone: 'America/New_York', cutoff: '17:00' });
    assert.deepEqual(await codes(ny, '2026-03-06T21:59:00Z', '2026-03-06', 'USD'), []); // 16:59 EST
    assert.deepEqual(await codes(ny, '2026-03-06T22:00:00Z', '2026-03-06', 'USD'), ['TM01']); // 17:00 EST
    assert.deepEqual(await codes(ny, '2026-03-09T20:59:00Z', '2026-03-09', 'USD'), []); // 16:59 EDT
    assert.deepEqual(await codes(ny, '2026-03-09T21:00:00Z', '2026-03-09', 'USD'), ['TM01']); // 17:00 EDT
  });

  test('past dates are DT01, judged by the local date around midnight', async () => {
    // 23:30Z on Monday is 00:30 on Tuesday in Berlin: Monday is past there, not in UTC.
    assert.deepEqual(await codes(berlin(), '2026-01-05T23:30:00Z', '2026-01-05'), ['DT01']);
    assert.deepEqual(await codes(berlin(), '2026-01-05T23:30:00Z', '2026-01-06'), []);
    assert.deepEqual(await codes(calendar({ timeZone: 'UTC' }), '2026-01-05T23:30:00Z', '2026-01-05'), []);
    // 07:30Z on Tuesday is still Monday 23:30 in Los Angeles: Monday is today there, after a 23:00 cut-off.
    const la = calendar({ timeZone: 'America/Los_Angeles', cutoff: '23:00' });
    assert.deepEqual(await codes(la, '2026-01-06T07:30:00Z', '2026-01-05'), ['TM01']);
    assert.deepEqual(await codes(la, '2026-01-06T07:30:00Z', '2026-01-06'), []);
  });

  test('weekends, holidays, invalid and far-off dates are DT01', async () => {
    const out = await calendarCheck(berlin()).run(
      context(
        pacs008([
          { settlementDate: '2026-01-10' },
          { settlementDate: '2026-12-25' },
          { settlementDate: '2026-02-30' },
          { settlementDate: '2027-06-01' },
          { settlementDate: '2026-12-28' },
        ]),
        { now: at('2026-01-05T09:00:00Z') },
      ),
    );
    assert.deepEqual(
      out.map((r) => [r.index, r.code, r.text]),
      [
        [0, 'DT01', 'settlement date 2026-01-10 is not a business day (SAT)'],
        [1, 'DT01', 'settlement date 2026-12-25 is a holiday'],
        [2, 'DT01', 'settlement date 2026-02-30 is not a valid date'],
        [3, 'DT01', 'settlement date 2027-06-01 is more than 366 days ahead'],
      ],
    );
  });

  test('configured business days replace Monday to Friday', async () => {
    const gulf = calendar({ timeZone: 'Asia/Riyadh', businessDays: ['SUN', 'MON', 'TUE', 'WED', 'THU'] });
    assert.deepEqual(await codes(gulf, '2026-01-05T09:00:00Z', '2026-01-09'), ['DT01']); // Friday
    assert.deepEqual(await codes(gulf, '2026-01-05T09:00:00Z', '2026-01-11'), []); // Sunday
  });

  test('a payment without a settlement date is checked against now', async () => {
    assert.deepEqual(await codes(berlin(), '2026-01-05T09:00:00Z', undefined), []);
    assert.deepEqual(await codes(berlin(), '2026-01-05T15:30:00Z', undefined), ['TM01']);
    assert.deepEqual(await codes(berlin(), '2026-01-10T09:00:00Z', undefined), ['DT01']);
    assert.deepEqual(await codes(berlin(), '2026-12-25T09:00:00Z', undefined), ['DT01']);
  });

  test('the group header settlement date applies to payments without their own', async () => {
    const xml = pacs008([{}, { settlementDate: '2026-01-06' }], { groupSettlementDate: '2026-01-03' });
    const out = await calendarCheck(berlin()).run(context(xml, { now: at('2026-01-05T09:00:00Z') }));
    assert.deepEqual(out.map((r) => [r.index, r.code]), [[0, 'DT01']]);
  });

  test('per-currency rules replace the time zone, cut-off and holidays for that currency only', async () => {
    const cal = calendar({
      timeZone: 'Europe/Berlin',
      cutoff: '16:00',
      currencies: { USD: { timeZone: 'America/New_York', cutoff: '17:00', holidays: ['2026-01-19'] }, GBP: { cutoff: null } },
    });
    // 15:30Z: 16:30 in Berlin (EUR closed), 10:30 in New York (USD open).
    assert.deepEqual(await codes(cal, '2026-01-05T15:30:00Z', '2026-01-05', 'EUR'), ['TM01']);
    assert.deepEqual(await codes(cal, '2026-01-05T15:30:00Z', '2026-01-05', 'USD'), []);
    assert.deepEqual(await codes(cal, '2026-01-05T15:30:00Z', '2026-01-05', 'GBP'), []);
    assert.deepEqual(await codes(cal, '2026-01-05T09:00:00Z', '2026-01-19', 'USD'), ['DT01']);
    assert.deepEqual(await codes(cal, '2026-01-05T09:00:00Z', '2026-01-19', 'EUR'), []);
  });

  test('pain.001: the requested execution date of each payment information block', async () => {
    const xml = pain001([{ executionDate: '2026-01-05', txs: [{}, {}] }, { executionDate: '2026-01-04', txs: [{}] }]);
    const out = await calendarCheck(berlin()).run(context(xml, { now: at('2026-01-05T09:00:00Z') }));
    assert.deepEqual(out.map((r) => [r.index, r.code]), [[2, 'DT01']]);
  });
});

describe('calendar configuration', () => {
  const isConfigInvalid = (error: unknown) => error instanceof MxError && error.code === 'CONFIG_INVALID';
  const compile = (settings: Record<string, unknown>) => compileCalendar(loadConfig({ env: {}, overrides: { checks: { calendar: settings } } }).checks.calendar);

  test('off by default', () => {
    assert.equal(compileCalendar(loadConfig({ env: {} }).checks.calendar), null);
  });

  test('unknown time zones, impossible holidays and bad shapes are refused', () => {
    assert.throws(() => compile({ timeZone: 'Mars/Olympus' }), isConfigInvalid);
    assert.throws(() => compile({ timeZone: 'UTC', currencies: { USD: { timeZone: 'Nowhere/City' } } }), isConfigInvalid);
    assert.throws(() => compile({ timeZone: 'UTC', holidays: ['2026-02-30'] }), isConfigInvalid);
    assert.throws(() => compile({ timeZone: 'UTC', cutoff: '24:00' }), isConfigInvalid);
    assert.throws(() => compile({ timeZone: 'UTC', businessDays: ['MON', 'MON'] }), isConfigInvalid);
    assert.throws(() => compile({ timeZone: 'UTC', businessDays: [] }), isConfigInvalid);
    assert.throws(() => compile({ currencies: { USD: { cutoff: '17:00' } } }), isConfigInvalid);
  });
});
