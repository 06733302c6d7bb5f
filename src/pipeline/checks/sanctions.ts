/**
 * Sanctions screening against a list of entries: parsing the list text and matching a message's parties against
 * it. Pure: the file and its reloads are in sanctions-file.ts.
 *
 * List format (UTF-8 text, one entry a line; blank lines and lines starting with `#` are ignored):
 *
 * | line                     | matches                                                                        |
 * | ------------------------ | ------------------------------------------------------------------------------ |
 * | `Acme Trading`           | a name (same as `NAME:Acme Trading`)                                           |
 * | `NAME:Acme Trading`      | a party or agent name with the same normalised token set                       |
 * | `NAME_CONTAINS:Acme Tr`  | a name holding every normalised token of the entry (opt-in, broader)           |
 * | `BIC:AAAABBCC`           | a BIC of an agent or party: 8 characters (or branch XXX) match every branch;   |
 * |                          | 11 characters with another branch match that branch only                      |
 * | `IBAN:DE89 3704 ...`     | an account IBAN or other account id (spaces and case ignored)                  |
 * | `ACCOUNT:12345678`       | an account id, IBAN or other (spaces and case ignored)                         |
 * | `LEI:...`                | a party or agent LEI                                                           |
 * | `ID:...`                 | a party's other organisation or private id (spaces and case ignored)           |
 * | `COUNTRY:XX`             | a party's country (postal address or residence), the country of a BIC         |
 * |                          | (characters 5-6) and the country of an IBAN (characters 1-2)                   |
 *
 * Prefixes are case-insensitive. A line whose text before the first `:` is a word that is not a known prefix is
 * refused (write `NAME:` before a name that holds a colon), so that a mistyped prefix never turns into a name.
 * A list with any bad line is refused as a whole: a half-read list would screen less than the operator meant.
 *
 * Name matching, with no fuzzy scoring: both sides are normalised (Unicode NFKD, combining marks removed, lower
 * case, ß/æ/œ/ø/ł/đ/ð/þ/ı folded to ASCII, apostrophes and dots deleted, every other character that is not a
 * letter or digit taken as a space), then split into tokens. `NAME` entries match when the sets of tokens are
 * equal (word order and repeated words do not count; this includes the exact normalised match). `NAME_CONTAINS`
 * entries match when every token of the entry is a token of the name.
 */
import type { CheckRejection, PaymentCheck } from '../checks.js';
import { screeningSubjects, CHECKED_FAMILIES, type Subject, type SubjectKind } from './subjects.js';

export type EntryKind = 'NAME' | 'NAME_CONTAINS' | 'BIC' | 'IBAN' | 'ACCOUNT' | 'LEI' | 'ID' | 'COUNTRY';

export interface SanctionsEntry {
  kind: EntryKind;
  /** The entry as written in the list (trimmed), for rejection texts. */
  text: string;
  /** 1-based line number in the list. */
  line: number;
}

export interface SanctionsList {
  readonly size: number;
  /** Sorted unique name tokens joined by a space -> entry. */
  readonly names: ReadonlyMap<string, SanctionsEntry>;
  /** NAME_CONTAINS entries, by their smallest token (which a matching name must hold). */
  readonly contains: ReadonlyMap<string, ReadonlyArray<{ tokens: readonly string[]; entry: SanctionsEntry }>>;
  /** First 8 characters of a BIC -> entry that covers every branch. */
  readonly bicInstitutions: ReadonlyMap<string, SanctionsEntry>;
  /** Full 11-character BIC -> entry of one branch. */
  readonly bicBranches: ReadonlyMap<string, SanctionsEntry>;
  readonly accounts: ReadonlyMap<string, SanctionsEntry>;
  readonly leis: ReadonlyMap<string, SanctionsEntry>;
  readonly ids: ReadonlyMap<string, SanctionsEntry>;
  readonly countries: ReadonlyMap<string, SanctionsEntry>;
}

export interface ListProblem {
  line: number;
  message: string;
}

/** A list text that cannot be used; `problems` names the first bad lines. */
export class SanctionsListError extends Error {
  constructor(
    message: string,
    readonly problems: readonly ListProblem[],
  ) {
    super(message);
    this.name = 'SanctionsListError';
  }
}

const PROBLEMS_REPORTED_MAX = 20;
/** Longest entry text quoted in a rejection. */
const ENTRY_TEXT_MAX = 70;

const FOLD: Readonly<Record<string, string>> = { ß: 'ss', æ: 'ae', œ: 'oe', ø: 'o', ł: 'l', đ: 'd', ð: 'd', þ: 'th', ı: 'i' };

/** A name in the normalised form both sides are compared in (see the module comment). */
export function normalizeName(name: string): string {
  return name
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase()
    .replace(/[ßæœøłđðþı]/g, (c) => FOLD[c] ?? c)
    .replace(/['’ʼ`´.]/g, '')
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
}

/** Sorted unique tokens of a normalised name. */
export function nameTokens(name: string): string[] {
  const normalized = normalizeName(name);
  return normalized === '' ? [] : [...new Set(normalized.split(' '))].sort();
}

const compact = (value: string) => value.replace(/\s+/g, '').toUpperCase();
const BIC = /^[A-Z]{4}[A-Z]{2}[A-Z0-9]{2}([A-Z0-9]{3})?$/;
const IBAN = /^[A-Z]{2}[0-9]{2}[A-Z0-9]{1,30}$/;
const LEI = /^[A-Z0-9]{18}[0-9]{2}$/;
const COUNTRY = /^[A-Z]{2}$/;
const PREFIXES: ReadonlySet<string> = new Set(['NAME', 'NAME_CONTAINS', 'BIC', 'IBAN', 'ACCOUNT', 'LEI', 'ID', 'COUNTRY']);

/**
 * Parses a list text. Throws SanctionsListError when a line is malformed or the list holds more than
 * `entriesMax` entries.
 */
export function parseSanctionsList(text: string, options: { entriesMax: number }): SanctionsList {
  const names = new Map<string, SanctionsEntry>();
  const contains = new Map<string, Array<{ tokens: string[]; entry: SanctionsEntry }>>();
  const bicInstitutions = new Map<string, SanctionsEntry>();
  const bicBranches = new Map<string, SanctionsEntry>();
  const accounts = new Map<string, SanctionsEntry>();
  const leis = new Map<string, SanctionsEntry>();
  const ids = new Map<string, SanctionsEntry>();
  const countries = new Map<string, SanctionsEntry>();
  const problems: ListProblem[] = [];
  let size = 0;

  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  for (let n = 0; n < lines.length; n += 1) {
    const line = n + 1;
    const raw = lines[n]!.trim();
    if (raw === '' || raw.startsWith('#')) continue;
    const problem = (message: string) => problems.push({ line, message });
    const m = /^([A-Za-z_]+)\s*:(.*)$/.exec(raw);
    let kind: EntryKind;
    let value: string;
    if (m === null) {
      kind = 'NAME';
      value = raw;
    } else {
      const prefix = m[1]!.toUpperCase();
      if (!PREFIXES.has(prefix)) {
        problem(`unknown prefix "${m[1]}:" (known: ${[...PREFIXES].join(', ')}; write NAME: before a name holding a colon)`);
        continue;
      }
      kind = prefix as EntryKind;
      value = m[2]!.trim();
    }
    const entry: SanctionsEntry = { kind, text: raw, line };
    const put = (map: Map<string, SanctionsEntry>, key: string) => {
      if (!map.has(key)) map.set(key, entry);
      size += 1;
    };
    switch (kind) {
      case 'NAME':
      case 'NAME_CONTAINS': {
        const tokens = nameTokens(value);
        if (tokens.length === 0) {
          problem('a name entry needs at least one letter or digit');
          break;
        }
        if (kind === 'NAME') {
          put(names, tokens.join(' '));
        } else {
          const bucket = contains.get(tokens[0]!) ?? [];
          bucket.push({ tokens, entry });
          contains.set(tokens[0]!, bucket);
          size += 1;
        }
        break;
      }
      case 'BIC': {
        const bic = compact(value);
        if (!BIC.test(bic)) problem(`"${value}" is not a BIC (8 or 11 letters and digits)`);
        else if (bic.length === 8 || bic.endsWith('XXX')) put(bicInstitutions, bic.slice(0, 8));
        else put(bicBranches, bic);
        break;
      }
      case 'IBAN': {
        const iban = compact(value);
        if (!IBAN.test(iban)) problem(`"${value}" is not an IBAN`);
        else put(accounts, iban);
        break;
      }
      case 'ACCOUNT': {
        const account = compact(value);
        if (account.length === 0 || account.length > 34) problem('an account id has 1 to 34 characters');
        else put(accounts, account);
        break;
      }
      case 'LEI': {
        const lei = compact(value);
        if (!LEI.test(lei)) problem(`"${value}" is not an LEI (20 characters)`);
        else put(leis, lei);
        break;
      }
      case 'ID': {
        const id = compact(value);
        if (id.length === 0 || id.length > 35) problem('an id has 1 to 35 characters');
        else put(ids, id);
        break;
      }
      case 'COUNTRY': {
        const country = compact(value);
        if (!COUNTRY.test(country)) problem(`"${value}" is not a two-letter country code`);
        else put(countries, country);
        break;
      }
    }
    if (size > options.entriesMax) {
      throw new SanctionsListError(`the list holds more than ${options.entriesMax} entries`, [{ line, message: 'entry limit reached' }]);
    }
  }
  if (problems.length > 0) {
    const shown = problems.slice(0, PROBLEMS_REPORTED_MAX);
    const more = problems.length > shown.length ? ` (and ${problems.length - shown.length} more)` : '';
    throw new SanctionsListError(`${problems.length} bad line(s): ${shown.map((p) => `line ${p.line}: ${p.message}`).join('; ')}${more}`, shown);
  }
  return { size, names, contains, bicInstitutions, bicBranches, accounts, leis, ids, countries };
}

export interface SanctionsHit {
  subject: Subject;
  entry: SanctionsEntry;
  /** What matched: "name", "BIC country", ... */
  what: string;
}

/** The entries one value matches, in list order of kinds (a value rarely matches more than one). */
export function matchSubject(list: SanctionsList, subject: Subject): SanctionsHit[] {
  const hits: SanctionsHit[] = [];
  const hit = (entry: SanctionsEntry | undefined, what: string) => {
    if (entry !== undefined) hits.push({ subject, entry, what });
  };
  const kind: SubjectKind = subject.kind;
  switch (kind) {
    case 'name': {
      const tokens = nameTokens(subject.value);
      if (tokens.length === 0) break;
      hit(list.names.get(tokens.join(' ')), 'name');
      const set = new Set(tokens);
      for (const token of tokens) {
        for (const candidate of list.contains.get(token) ?? []) {
          if (candidate.tokens.every((t) => set.has(t))) hit(candidate.entry, 'name');
        }
      }
      break;
    }
    case 'bic': {
      const bic = compact(subject.value);
      hit(list.bicInstitutions.get(bic.slice(0, 8)) ?? list.bicBranches.get(bic.length === 8 ? `${bic}XXX` : bic), 'BIC');
      if (bic.length >= 6) hit(list.countries.get(bic.slice(4, 6)), 'BIC country');
      break;
    }
    case 'account': {
      const account = compact(subject.value);
      hit(list.accounts.get(account), 'account');
      if (IBAN.test(account)) hit(list.countries.get(account.slice(0, 2)), 'IBAN country');
      break;
    }
    case 'lei':
      hit(list.leis.get(compact(subject.value)), 'LEI');
      break;
    case 'id':
      hit(list.ids.get(compact(subject.value)), 'id');
      break;
    case 'country':
      hit(list.countries.get(compact(subject.value)), 'country');
      break;
  }
  return hits;
}

/** Every hit of a message's values, in message order. */
export function screen(list: SanctionsList, subjects: readonly Subject[]): SanctionsHit[] {
  return subjects.flatMap((s) => matchSubject(list, s));
}

function quote(entry: SanctionsEntry): string {
  return entry.text.length > ENTRY_TEXT_MAX ? `${entry.text.slice(0, ENTRY_TEXT_MAX - 3)}...` : entry.text;
}

/**
 * What the sender reads of a hit: the code (RR04) and no more. Which list entry matched, and what of the message
 * matched it, would tell a sanctioned party how it was caught.
 */
export const HIT_TEXT = 'rejected for regulatory reasons';

/** The hit for operators (the audit trail): the list entry and who matched it, never the party's own data. */
export function hitText(hit: SanctionsHit, others: number): string {
  const more = others > 0 ? ` (and ${others} more hit${others > 1 ? 's' : ''})` : '';
  return `sanctions list line ${hit.entry.line} "${quote(hit.entry)}" matches the ${hit.subject.role} ${hit.what}${more}`;
}

export const SANCTIONS_CHECK = 'sanctions';

/**
 * The screening check: RR04 for each payment with a hit (index null for a value of the whole message, such as a
 * group header agent). `list()` gives the list in force at the time of the call, so a reload applies at once.
 */
export function sanctionsCheck(list: () => SanctionsList): PaymentCheck {
  return {
    name: SANCTIONS_CHECK,
    run({ submission }) {
      if (!CHECKED_FAMILIES.has(submission.family)) return [];
      const hits = screen(list(), screeningSubjects(submission.model));
      const byIndex = new Map<number | null, SanctionsHit[]>();
      for (const h of hits) {
        const group = byIndex.get(h.subject.index) ?? [];
        group.push(h);
        byIndex.set(h.subject.index, group);
      }
      const out: CheckRejection[] = [];
      for (const [index, group] of byIndex) {
        out.push({ index, code: 'RR04', text: HIT_TEXT, detail: hitText(group[0]!, group.length - 1), check: SANCTIONS_CHECK });
      }
      return out;
    },
  };
}
