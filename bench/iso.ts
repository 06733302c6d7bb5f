/**
 * ISO 20022 message layer benchmark: messages per second on one core (one thread) for parse, parse + built-in
 * rules, parse + XSD, and pacs.002 build, with the libraries a TypeScript user would otherwise pick measured in
 * the same run on the same bytes.
 *
 *   npm run bench:iso -- [--ms 600] [--runs 5] [--only pacs.008-single,pacs.008-many,...] [--clock cpu|wall] [--json]
 *
 * Each row runs its operation in a loop for `ms` milliseconds after a warm-up, `runs` times; the table shows the
 * median rate. With `--clock cpu` (the default) a rate is operations per CPU-second of this process (user + system
 * time, so garbage-collector threads count too): the rate per core, which other processes on a shared machine
 * barely move. `--clock wall` divides by elapsed time instead. Messages come from ../shared/iso20022/samples (beside the repository); the many-transaction
 * pacs.008 is made from a one-transaction sample by repeating its transaction with fresh ids.
 *
 * Rows are added per measurement function (see MEASUREMENTS at the end): each takes the prepared messages and
 * returns its rows, so another layer adds its rows with one more function.
 */
import { existsSync, readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { XMLParser } from 'fast-xml-parser';
import { CashManagementEndOfDayReport, PaymentStatusReport } from 'iso20022.js';
import { SaxesParser } from 'saxes';
import {
  buildPacs002,
  child,
  childrenNamed,
  cloneElement,
  ISO_NS_PREFIX,
  parseMessage,
  readModel,
  serializeXml,
  toXml,
  type SplitMessage,
} from '../src/iso20022/index.js';
import { MessageValidator, SchemaValidator, validateBuiltin } from '../src/iso20022/validation/index.js';

const { values: args } = parseArgs({
  options: {
    ms: { type: 'string', default: '600' },
    runs: { type: 'string', default: '5' },
    only: { type: 'string' },
    json: { type: 'boolean', default: false },
    clock: { type: 'string', default: 'cpu' },
  },
  strict: true,
});
const RUN_MS = Number(args.ms);
const RUNS = Number(args.runs);
if (args.clock !== 'cpu' && args.clock !== 'wall') {
  console.error('--clock is cpu (rates per CPU-second of this process: per core) or wall (per elapsed second)');
  process.exit(1);
}
const CPU_CLOCK = args.clock === 'cpu';

/** Microseconds on the chosen clock: this process's CPU time (user + system), or elapsed time. */
function clockUs(): number {
  if (!CPU_CLOCK) return performance.now() * 1000;
  const c = process.cpuUsage();
  return c.user + c.system;
}

const SHARED = resolve(import.meta.dirname, '..', '..', 'shared', 'iso20022');
if (!existsSync(join(SHARED, 'samples'))) {
  console.error('bench:iso needs the ISO 20022 reference material in ../shared/iso20022 beside the repository');
  process.exit(1);
}
const sample = (name: string): string => readFileSync(join(SHARED, 'samples', name), 'utf8');

// ---------------------------------------------------------------------------------------------------------
// Messages

interface Message {
  key: string;
  label: string;
  text: string;
  transactions: number;
}

/** A pacs.008 with `count` transactions: the sample's one transaction repeated with distinct ids. */
function manyTransactions(text: string, count: number): string {
  const doc = parseMessage(text).document!;
  const body = child(doc, 'FIToFICstmrCdtTrf')!;
  const [tx] = childrenNamed(body, 'CdtTrfTxInf');
  body.children = body.children.filter((c) => c.name !== 'CdtTrfTxInf');
  for (let i = 0; i < count; i++) {
    const copy = cloneElement(tx!);
    const pmtId = child(copy, 'PmtId')!;
    for (const id of pmtId.children) if (id.name !== 'UETR') id.text = `${id.text.slice(0, 24)}-${i}`;
    body.children.push(copy);
  }
  child(child(body, 'GrpHdr'), 'NbOfTxs')!.text = String(count);
  return serializeXml(doc, { indent: '  ' });
}

const MESSAGES: Message[] = [
  { key: 'pacs.008-single', label: 'pacs.008 1 tx (CBPR+ envelope, 3 KB)', text: sample('pacs.008.001.08-cbpr-single.xml'), transactions: 1 },
  { key: 'pacs.008-many', label: 'pacs.008 100 tx', text: manyTransactions(sample('pacs.008.001.08-generic-clrg.xml'), 100), transactions: 100 },
  { key: 'pain.002', label: 'pain.002 2 tx (Nordea)', text: sample('pain.002.001.03-nordea-txn-rjct-2tx.xml'), transactions: 2 },
  { key: 'camt.053', label: 'camt.053 15 entries (GS, 35 KB)', text: sample('camt.053.001.02-gs-us.xml'), transactions: 15 },
].filter((m) => args.only === undefined || args.only.split(',').includes(m.key));

// ---------------------------------------------------------------------------------------------------------
// Measuring

interface Row {
  message: string;
  library: string;
  operation: string;
  perSecond: number;
  txPerSecond: number;
  note?: string;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Median operations per second of `fn` over RUNS runs of RUN_MS each, after a warm-up. */
function rate(fn: () => unknown): number {
  const warmUntil = performance.now() + Math.min(300, RUN_MS);
  while (performance.now() < warmUntil) fn();
  const rates: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    let n = 0;
    const start = performance.now();
    const startUs = clockUs();
    while (performance.now() - start < RUN_MS) {
      for (let i = 0; i < 16; i++) fn();
      n += 16;
    }
    rates.push((n * 1e6) / (clockUs() - startUs));
  }
  return median(rates);
}

function row(m: Message, library: string, operation: string, fn: () => unknown, note?: string): Row {
  const perSecond = rate(fn);
  const r: Row = { message: m.label, library, operation, perSecond, txPerSecond: perSecond * m.transactions };
  if (note !== undefined) r.note = note;
  return r;
}

// ---------------------------------------------------------------------------------------------------------
// Measurement functions: each returns the rows it measured for one message.

type Measurement = (m: Message) => Row[];

const mxgateParse: Measurement = (m) => [
  row(m, 'mxgate', 'parse (tree + split)', () => parseMessage(m.text)),
  row(m, 'mxgate', 'parse + typed view', () => readModel(parseMessage(m.text))),
];

// Built-in rules (the validation layer): parse, split, then every built-in rule on the tree.
const mxgateRules: Measurement = (m) => [
  row(m, 'mxgate', 'parse + built-in rules', () => validateBuiltin(parseMessage(m.text))),
];

const xsdSource = (ns: string): Buffer | undefined => {
  const file = join(SHARED, 'xsd', `${ns.slice(ISO_NS_PREFIX.length)}.xsd`);
  return ns.startsWith(ISO_NS_PREFIX) && existsSync(file) ? readFileSync(file) : undefined;
};
const xsd = new SchemaValidator({ source: xsdSource });
const mxgateXsd: Measurement = (m) => [
  row(m, 'mxgate', 'parse + XSD (libxml2-wasm)', () => {
    parseMessage(m.text);
    return xsd.validate(m.text);
  }),
];

// Every validation layer, as the processing stage runs it: safe parse, XSD, built-in rules, and the scheme profile
// the message declares ('auto': CBPR+ for the CBPR+ envelope, none for the generic pacs.008).
const validator = new MessageValidator({ schemas: (ns) => xsdSource(ns) });
const mxgateFull: Measurement = (m) => [
  row(m, 'mxgate', 'parse + XSD + built-in rules + profile', () => validator.validate(m.text, { profile: 'auto' })),
];

const mxgateBuild: Measurement = (m) => {
  const original: SplitMessage = parseMessage(m.text);
  if (!['pacs.008', 'pacs.009', 'pacs.004'].includes(original.id.family)) return [];
  const options = { msgId: 'STS-0001', creDtTm: '2026-07-02T10:30:00Z', transactionStatus: 'ACSC' };
  return [
    row(m, 'mxgate', 'pacs.002 build + serialize', () => toXml(buildPacs002(original, options))),
    row(m, 'mxgate', 'parse + pacs.002 build + serialize', () => toXml(buildPacs002(parseMessage(m.text), options))),
  ];
};

const fxp = new XMLParser({ parseTagValue: false, parseAttributeValue: false, ignoreAttributes: false, removeNSPrefix: true });
const fastXmlParser: Measurement = (m) => [row(m, 'fast-xml-parser 5', 'parse (parseTagValue: false)', () => fxp.parse(m.text))];

const saxesAlone: Measurement = (m) => [
  row(m, 'saxes 6', 'tokenize only (xmlns, no tree)', () => {
    const p = new SaxesParser({ xmlns: true });
    let n = 0;
    p.on('opentag', () => n++);
    p.on('text', () => n++);
    p.write(m.text).close();
    return n;
  }),
];

// iso20022.js reads pain.002 and camt.053 only (it builds pain.001 and has no pacs support).
const iso20022js: Measurement = (m) => {
  if (m.key === 'pain.002') return [row(m, 'iso20022.js 0.0.15', 'parse', () => PaymentStatusReport.fromXML(m.text))];
  if (m.key === 'camt.053') return [row(m, 'iso20022.js 0.0.15', 'parse', () => CashManagementEndOfDayReport.fromXML(m.text))];
  return [];
};

const MEASUREMENTS: Measurement[] = [mxgateParse, mxgateRules, mxgateXsd, mxgateFull, mxgateBuild, fastXmlParser, saxesAlone, iso20022js];

// ---------------------------------------------------------------------------------------------------------
// Run and print

const rows: Row[] = [];
for (const m of MESSAGES) {
  for (const measure of MEASUREMENTS) {
    for (const r of measure(m)) {
      rows.push(r);
      if (!args.json) process.stderr.write(`  ${r.message} | ${r.library} | ${r.operation}: ${Math.round(r.perSecond)}/s\n`);
    }
  }
}
xsd.dispose();
validator.dispose();

function printTable(data: Row[]): void {
  const header = ['message', 'library', 'operation', 'msg/s (median)', 'tx/s'];
  const body = data.map((r) => [r.message, r.library, r.operation, fmt(r.perSecond), fmt(r.txPerSecond)]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => (i >= 3 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join(' | ')} |`;
  console.log(line(header));
  console.log(`|${widths.map((w, i) => (i >= 3 ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`);
  for (const b of body) console.log(line(b));
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

if (args.json) {
  console.log(JSON.stringify({ cpu: cpus()[0]?.model, node: process.version, runMs: RUN_MS, runs: RUNS, clock: args.clock, loadavg: loadavg(), rows }, null, 2));
} else {
  console.log(
    `\nCPU: ${cpus()[0]?.model} (${cpus().length} cores), Node ${process.version}, one thread; median of ${RUNS} runs of ${RUN_MS} ms; ` +
      `${CPU_CLOCK ? 'per CPU-second' : 'per elapsed second'}; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}\n`,
  );
  printTable(rows);
}
