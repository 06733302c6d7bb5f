/**
 * Structural built-in rules: mandatory elements (data in required.ts) and the totals a message states about
 * itself (NbOfTxs, CtrlSum, TtlIntrBkSttlmAmt), which must agree with its transactions. Amounts are added as
 * exact decimals (bigint), never as JavaScript numbers.
 */
import { attr, child, childrenNamed, type XmlElement } from '../xml/tree.js';
import { sameDecimal, sumDecimals } from './checks/amounts.js';
import { pathOf } from './finding-path.js';
import { REQUIRED_ELEMENTS } from './required.js';
import type { Collector } from './builtin.js';

const COUNT = /^[0-9]{1,15}$/;

/** A required path split once: alternatives ('A|B'), each a list of names. */
interface RequiredPath {
  readonly source: string;
  readonly alternatives: readonly (readonly string[])[];
}

interface CompiledRequired {
  readonly paths: readonly RequiredPath[];
  readonly each: ReadonlyArray<{ readonly block: readonly string[]; readonly paths: readonly RequiredPath[] }>;
}

function compileRequired(path: string): RequiredPath {
  return { source: path, alternatives: path.split('|').map((alt) => alt.split('/')) };
}

// Split once at load: the rules run for every payment.
const REQUIRED: ReadonlyMap<string, CompiledRequired> = new Map(Object.entries(REQUIRED_ELEMENTS).map(([family, spec]) => [family, {
  paths: spec.paths.map(compileRequired),
  each: Object.entries(spec.each ?? {}).map(([block, inner]) => ({ block: block.split('/'), paths: inner.map(compileRequired) })),
}]));

/** How each family's transactions and totals are laid out (relative to the message element). */
interface TotalsSpec {
  /** Repeated transaction element, e.g. 'CdtTrfTxInf'. */
  readonly tx: string;
  /** Amount inside a transaction that CtrlSum and the settlement total add up (alternatives, as name lists). */
  readonly amount: readonly (readonly string[])[];
  /** Settlement total in GrpHdr, when the family has one. */
  readonly total?: string;
}

const TOTALS: Readonly<Record<string, TotalsSpec>> = {
  'pacs.008': { tx: 'CdtTrfTxInf', amount: [['IntrBkSttlmAmt']], total: 'TtlIntrBkSttlmAmt' },
  'pacs.009': { tx: 'CdtTrfTxInf', amount: [['IntrBkSttlmAmt']], total: 'TtlIntrBkSttlmAmt' },
  'pacs.004': { tx: 'TxInf', amount: [['RtrdIntrBkSttlmAmt']], total: 'TtlRtrdIntrBkSttlmAmt' },
};

const PAIN001_AMOUNT: readonly (readonly string[])[] = [['Amt', 'InstdAmt'], ['Amt', 'EqvtAmt', 'Amt']];

export function checkStructure(part: XmlElement, family: string, out: Collector): void {
  // The Document holds one message element; the AppHdr is its own message element.
  const message = part.name === 'Document' ? part.children[0] : part;
  if (message === undefined) {
    add(out, [part], 'required.element', 'CH21', 'the Document holds no message');
    return;
  }
  const chain = message === part ? [part] : [part, message];
  const required = REQUIRED.get(family);
  if (required !== undefined) checkRequired(message, chain, required, out);
  if (family === 'pain.001') {
    checkPain001(message, chain, out);
    return;
  }
  const totals = TOTALS[family];
  if (totals !== undefined) checkTotals(message, chain, totals, out);
}

function add(out: Collector, chain: readonly XmlElement[], rule: string, code: string, message: string): void {
  const el = chain[chain.length - 1]!;
  out.add({ layer: 'builtin', severity: 'error', rule, code, path: pathOf(chain), ...(el.line > 0 ? { line: el.line } : {}), message });
}

function has(el: XmlElement, path: RequiredPath): boolean {
  for (const alternative of path.alternatives) {
    let cur: XmlElement | undefined = el;
    for (let i = 0; i < alternative.length && cur !== undefined; i += 1) cur = child(cur, alternative[i]!);
    if (cur !== undefined) return true;
  }
  return false;
}

function checkRequired(message: XmlElement, chain: XmlElement[], required: CompiledRequired, out: Collector): void {
  for (const path of required.paths) {
    if (!has(message, path)) add(out, chain, 'required.element', 'CH21', `mandatory element ${path.source} is missing`);
  }
  for (const { block, paths } of required.each) {
    for (const found of occurrences(message, chain, block)) {
      for (const path of paths) {
        if (!has(found.el, path)) add(out, found.chain, 'required.element', 'CH21', `mandatory element ${path.source} is missing`);
      }
    }
  }
}

/** Every element at a path of repeatable steps, with its chain for paths. */
function occurrences(el: XmlElement, chain: XmlElement[], steps: readonly string[]): Array<{ el: XmlElement; chain: XmlElement[] }> {
  const [first, ...rest] = steps;
  if (first === undefined) return [{ el, chain }];
  return childrenNamed(el, first).flatMap((c) => occurrences(c, [...chain, c], rest));
}

function amountsOf(txs: readonly XmlElement[], paths: readonly (readonly string[])[]): { values: string[]; currencies: Set<string> } | undefined {
  const values: string[] = [];
  const currencies = new Set<string>();
  for (const tx of txs) {
    let found: XmlElement | undefined;
    for (const path of paths) {
      let cur: XmlElement | undefined = tx;
      for (const name of path) cur = child(cur, name);
      if (cur !== undefined) { found = cur; break; }
    }
    if (found === undefined) return undefined;
    values.push(found.text);
    currencies.add(attr(found, 'Ccy') ?? '');
  }
  return { values, currencies };
}

function checkCount(header: XmlElement, chain: XmlElement[], count: number, code: string, out: Collector): void {
  const nb = child(header, 'NbOfTxs');
  if (nb === undefined) return;
  if (!COUNT.test(nb.text) || BigInt(nb.text) !== BigInt(count)) {
    add(out, [...chain, nb], 'nboftxs.mismatch', code, `NbOfTxs says ${nb.text} but the message holds ${count} transaction(s)`);
  }
}

function checkSum(header: XmlElement, chain: XmlElement[], name: string, values: readonly string[], rule: string, code: string, out: Collector): void {
  const stated = child(header, name);
  if (stated === undefined) return;
  const sum = sumDecimals(values);
  // Malformed amounts are reported by the walk (amount.format); a total cannot be checked against them.
  if (sum === undefined) return;
  if (sameDecimal(stated.text, sum) !== true) {
    add(out, [...chain, stated], rule, code, `${name} says ${stated.text} but the transactions add up to ${sum}`);
  }
}

function checkTotals(message: XmlElement, chain: XmlElement[], spec: TotalsSpec, out: Collector): void {
  const header = child(message, 'GrpHdr');
  if (header === undefined) return;
  const headerChain = [...chain, header];
  const txs = childrenNamed(message, spec.tx);
  checkCount(header, headerChain, txs.length, 'AM19', out);
  const amounts = amountsOf(txs, spec.amount);
  if (amounts === undefined) return;
  checkSum(header, headerChain, 'CtrlSum', amounts.values, 'ctrlsum.mismatch', 'AM16', out);
  if (spec.total === undefined) return;
  const total = child(header, spec.total);
  if (total === undefined) return;
  const ccy = attr(total, 'Ccy') ?? '';
  if (amounts.currencies.size > 1 || (amounts.currencies.size === 1 && !amounts.currencies.has(ccy))) {
    add(out, [...headerChain, total], 'sttlm.total', 'AM10',
      `${spec.total} is in ${ccy} but the transactions settle in ${[...amounts.currencies].join(', ')}`);
    return;
  }
  checkSum(header, headerChain, spec.total, amounts.values, 'sttlm.total', 'AM10', out);
}

/** pain.001: counts and control sums at group level (all transactions) and per payment information block. */
function checkPain001(message: XmlElement, chain: XmlElement[], out: Collector): void {
  const header = child(message, 'GrpHdr');
  const blocks = childrenNamed(message, 'PmtInf');
  const all: XmlElement[] = [];
  for (const block of blocks) {
    const txs = childrenNamed(block, 'CdtTrfTxInf');
    all.push(...txs);
    const blockChain = [...chain, block];
    checkCount(block, blockChain, txs.length, 'AM20', out);
    const amounts = amountsOf(txs, PAIN001_AMOUNT);
    if (amounts !== undefined) checkSum(block, blockChain, 'CtrlSum', amounts.values, 'ctrlsum.mismatch', 'AM17', out);
  }
  if (header === undefined) return;
  const headerChain = [...chain, header];
  checkCount(header, headerChain, all.length, 'AM19', out);
  const amounts = amountsOf(all, PAIN001_AMOUNT);
  if (amounts !== undefined) checkSum(header, headerChain, 'CtrlSum', amounts.values, 'ctrlsum.mismatch', 'AM16', out);
}
