/**
 * Built-in rules: what holds in every scheme and needs no XSD. One walk over each message part checks every
 * identifier (IBAN, BIC, LEI), amount and currency, date and coded value it meets; then a few structural rules
 * (mandatory elements, NbOfTxs, CtrlSum, settlement totals) navigate the tree directly.
 *
 * Speed matters here (the processing stage runs this for every payment): no regex is built per call, the walk
 * does one map lookup per element for coded fields, and a path string is only built when a finding is made.
 */
import { CODE_SETS } from '../codes/index.js';
import noMinorUnit from '../codes/currencies-without-minor-unit.json' with { type: 'json' };
import type { SplitMessage } from '../message.js';
import { currencyExponent } from '../money.js';
import type { XmlElement } from '../xml/tree.js';
import { amountProblem } from './checks/amounts.js';
import { isIsoDate, isIsoDateTime } from './checks/dates.js';
import { bicProblem, ibanProblems, leiProblem } from './checks/identifiers.js';
import { CODE_FIELDS, REPORT_FAMILIES, indexCodeFields, type CodeField } from './code-fields.js';
import { pathOf } from './finding-path.js';
import { checkStructure } from './structure.js';
import type { Finding, Severity } from './types.js';

const CODE_FIELD_INDEX = indexCodeFields(CODE_FIELDS);
const NO_MINOR_UNIT: ReadonlySet<string> = new Set(noMinorUnit.codes);
const BIC_ELEMENTS: ReadonlySet<string> = new Set(['BICFI', 'BIC', 'AnyBIC', 'BICOrBEI']);
const CURRENCY_ELEMENTS: ReadonlySet<string> = new Set(['Ccy', 'SrcCcy', 'TrgtCcy', 'UnitCcy', 'XchgRateBase']);
const CURRENCY_CODE = /^[A-Z]{3}$/;

export interface BuiltinOptions {
  /** Most findings reported per message (a broken batch of 10,000 transactions needs no 10,000 findings). */
  readonly findingsMax?: number;
}

/** Checks a split message (see message.ts) against the built-in rules. Never throws on message content. */
export function validateBuiltin(message: SplitMessage, options?: BuiltinOptions): Finding[] {
  const out = new Collector(options?.findingsMax ?? 200);
  if (message.appHdr !== undefined) {
    checkPart(message.appHdr, 'head.001', out);
  }
  if (message.document !== undefined) {
    checkPart(message.document, message.documentId?.family ?? '', out);
  }
  return out.findings;
}

/** Findings of one run, with the cap applied. */
export class Collector {
  readonly findings: Finding[] = [];
  readonly #max: number;

  constructor(max: number) {
    this.#max = max;
  }

  get full(): boolean {
    return this.findings.length >= this.#max;
  }

  add(finding: Finding): void {
    if (!this.full) this.findings.push(finding);
  }
}

function checkPart(root: XmlElement, family: string, out: Collector): void {
  const walk = new Walk(family, out);
  walk.visit(root, 0);
  checkStructure(root, family, out);
}

class Walk {
  readonly #chain: XmlElement[] = [];
  readonly #report: boolean;

  constructor(
    readonly family: string,
    readonly out: Collector,
  ) {
    this.#report = REPORT_FAMILIES.has(family);
  }

  visit(el: XmlElement, depth: number): void {
    if (this.out.full) return;
    this.#chain[depth] = el;
    const kids = el.children;
    if (kids.length === 0) this.#leaf(el, depth);
    for (let i = 0; i < kids.length; i += 1) this.visit(kids[i]!, depth + 1);
  }

  #leaf(el: XmlElement, depth: number): void {
    const name = el.name;
    const text = el.text;
    if (el.attrs.length > 0) this.#amount(el, depth);
    if (name === 'IBAN') this.#iban(el, depth, text);
    else if (BIC_ELEMENTS.has(name)) this.#bic(el, depth, text);
    else if (name === 'LEI') this.#lei(el, depth, text);
    else if (CURRENCY_ELEMENTS.has(name)) this.#currency(el, depth, text, 'currency.unknown');
    else if (name.endsWith('DtTm') || name === 'CreDt' || name === 'QtnDt') this.#dateTime(el, depth, text);
    else if (name === 'Dt' || name.endsWith('SttlmDt') || name.endsWith('ExctnDt') || name.endsWith('ColltnDt') || name === 'BirthDt') {
      this.#date(el, depth, text);
    }
    const fields = CODE_FIELD_INDEX.get(name);
    if (fields !== undefined) this.#code(el, depth, text, fields);
  }

  #add(el: XmlElement, depth: number, rule: string, code: string, message: string, severity: Severity = 'error'): void {
    this.out.add({
      layer: 'builtin', severity, rule, code, path: pathOf(this.#chain, depth + 1),
      ...(el.line > 0 ? { line: el.line } : {}), message,
    });
  }

  #iban(el: XmlElement, depth: number, iban: string): void {
    for (const problem of ibanProblems(iban)) {
      const what = problem === 'checksum' ? 'check digits are wrong (ISO 13616 mod 97)'
        : problem === 'length' ? 'has the wrong length for its country'
          : problem === 'country' ? 'has no IBAN country code' : 'is not an IBAN';
      this.#add(el, depth, `iban.${problem}`, 'AC01', `IBAN ${iban} ${what}`);
    }
  }

  #bic(el: XmlElement, depth: number, bic: string): void {
    const problem = bicProblem(bic);
    if (problem === undefined) return;
    this.#add(el, depth, `bic.${problem}`, 'RC01',
      problem === 'format' ? `"${bic}" is not a BIC` : `BIC ${bic} has no ISO 3166 country code in positions 5-6`);
  }

  #lei(el: XmlElement, depth: number, lei: string): void {
    const problem = leiProblem(lei);
    if (problem === undefined) return;
    const agent = this.#chain[depth - 1]?.name === 'FinInstnId';
    // A wrong check digit is reported, not rejected: the LEI identifies, it does not route (see types.ts).
    this.#add(el, depth, `lei.${problem}`, agent ? 'RC02' : 'BE15',
      problem === 'format' ? `"${lei}" is not an LEI` : `LEI ${lei} check digits are wrong (ISO 17442 mod 97)`,
      problem === 'format' ? 'error' : 'warning');
  }

  #currency(el: XmlElement, depth: number, ccy: string, rule: string): boolean {
    if (currencyExponent(ccy) !== undefined || NO_MINOR_UNIT.has(ccy)) return true;
    this.#add(el, depth, rule, 'AM03',
      CURRENCY_CODE.test(ccy) ? `${ccy} is not an ISO 4217 currency` : `"${ccy}" is not a currency code`);
    return false;
  }

  #amount(el: XmlElement, depth: number): void {
    let ccy: string | undefined;
    for (const a of el.attrs) if (a.name === 'Ccy' && a.ns === '') ccy = a.value;
    if (ccy === undefined) return;
    if (!this.#currency(el, depth, ccy, 'amount.currency')) return;
    const exponent = currencyExponent(ccy) ?? null;
    const problem = amountProblem(el.text, exponent);
    if (problem === 'format') {
      this.#add(el, depth, 'amount.format', 'AM12', `"${el.text}" is not a decimal amount`);
    } else if (problem === 'precision') {
      this.#add(el, depth, 'amount.precision', 'CH20', `${el.text} ${ccy} has more decimals than ${ccy} allows (${exponent})`);
    }
  }

  #dateTime(el: XmlElement, depth: number, value: string): void {
    if (value === '' || isIsoDateTime(value)) return;
    this.#add(el, depth, 'datetime.format', el.name === 'CreDtTm' ? 'DT02' : 'DT01', `"${value}" is not an ISO 8601 date and time`);
  }

  #date(el: XmlElement, depth: number, value: string): void {
    if (value === '' || isIsoDate(value)) return;
    this.#add(el, depth, 'date.format', 'DT01', `"${value}" is not an ISO 8601 date`);
  }

  #code(el: XmlElement, depth: number, value: string, fields: readonly CodeField[]): void {
    for (const field of fields) {
      if (!this.#within(depth, field.within)) continue;
      const set = CODE_SETS[field.set];
      if (!set.codes.has(value)) {
        this.#add(el, depth, field.rule, field.code, `"${value}" is not in ${set.name} (${set.version})`,
          this.#report ? 'warning' : field.severity);
      }
      return;
    }
  }

  /** Whether the nearest ancestors of the element at `depth` are `within` (nearest last). */
  #within(depth: number, within: readonly string[]): boolean {
    const n = within.length;
    if (depth < n) return false;
    for (let k = 0; k < n; k += 1) {
      const want = within[n - 1 - k]!;
      const name = this.#chain[depth - 1 - k]!.name;
      if (want.charCodeAt(0) === 42 /* '*' */ ? !name.endsWith(want.slice(1)) : name !== want) return false;
    }
    return true;
  }
}
