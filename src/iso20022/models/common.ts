/**
 * Building blocks shared by the typed message views: agents, parties, accounts, amounts, status reasons.
 *
 * A view reads from the element tree and keeps every value as the string the message carried; absent elements are
 * undefined. Views never replace the tree: it stays the source of truth for fidelity (round trips serialize it).
 */
import { at, attr, child, childrenNamed, textAt, type XmlElement } from '../xml/tree.js';

/** A financial institution as ISO 20022 identifies one (FinInstnId). */
export interface Agent {
  bicfi?: string;
  /** Clearing system (ClrSysMmbId/ClrSysId/Cd or Prtry) and member id, such as USABA 021040078. */
  clearingSystem?: string;
  memberId?: string;
  lei?: string;
  name?: string;
}

/** A party (debtor, creditor, ultimate parties): name plus the identifiers the hub matches on. */
export interface Party {
  name?: string;
  /** Organisation id: AnyBIC, LEI, or the first Othr/Id. */
  anyBic?: string;
  lei?: string;
  otherId?: string;
  country?: string;
}

export interface Account {
  iban?: string;
  /** Othr/Id when the account has no IBAN. */
  other?: string;
  currency?: string;
  name?: string;
}

/** An amount as written: decimal string and currency code (convert with money.ts when arithmetic is needed). */
export interface Amount {
  value: string;
  currency: string;
}

/** One StsRsnInf (or RtrRsnInf, CxlRsnInf): the reason code (or proprietary reason) and its texts. */
export interface Reason {
  code?: string;
  proprietary?: string;
  additionalInfo: string[];
  originator?: string;
}

export function readAgent(el: XmlElement | undefined): Agent | undefined {
  const fin = child(el, 'FinInstnId');
  if (fin === undefined) return undefined;
  const out: Agent = {};
  set(out, 'bicfi', textAt(fin, 'BICFI') ?? textAt(fin, 'BIC'));
  const clr = child(fin, 'ClrSysMmbId');
  if (clr !== undefined) {
    set(out, 'clearingSystem', textAt(clr, 'ClrSysId/Cd') ?? textAt(clr, 'ClrSysId/Prtry'));
    set(out, 'memberId', textAt(clr, 'MmbId'));
  }
  set(out, 'lei', textAt(fin, 'LEI'));
  set(out, 'name', textAt(fin, 'Nm'));
  return out;
}

export function readParty(el: XmlElement | undefined): Party | undefined {
  if (el === undefined) return undefined;
  // pacs.009 and pacs.004 carry some parties as agents (FinInstnId), pacs.008 as parties; read both shapes.
  const party = child(el, 'Pty') ?? el;
  const out: Party = {};
  set(out, 'name', textAt(party, 'Nm') ?? textAt(party, 'FinInstnId/Nm'));
  const org = at(party, 'Id/OrgId');
  if (org !== undefined) {
    set(out, 'anyBic', textAt(org, 'AnyBIC') ?? textAt(org, 'BICOrBEI'));
    set(out, 'lei', textAt(org, 'LEI'));
    set(out, 'otherId', textAt(org, 'Othr/Id'));
  } else {
    set(out, 'otherId', textAt(party, 'Id/PrvtId/Othr/Id'));
  }
  set(out, 'anyBic', out.anyBic ?? textAt(party, 'FinInstnId/BICFI'));
  set(out, 'country', textAt(party, 'PstlAdr/Ctry') ?? textAt(party, 'CtryOfRes'));
  return out;
}

export function readAccount(el: XmlElement | undefined): Account | undefined {
  if (el === undefined) return undefined;
  const out: Account = {};
  set(out, 'iban', textAt(el, 'Id/IBAN'));
  set(out, 'other', textAt(el, 'Id/Othr/Id'));
  set(out, 'currency', textAt(el, 'Ccy'));
  set(out, 'name', textAt(el, 'Nm'));
  return out;
}

/** An amount element with a Ccy attribute (ActiveCurrencyAndAmount and friends). */
export function readAmount(el: XmlElement | undefined): Amount | undefined {
  if (el === undefined) return undefined;
  return { value: el.text, currency: attr(el, 'Ccy') ?? '' };
}

/** An amount that may be wrapped in a choice (InstdAmt or EqvtAmt/Amt, Amt/InstdAmt, ...). */
export function readAmountAt(el: XmlElement | undefined, path: string): Amount | undefined {
  return readAmount(at(el, path));
}

export function readReasons(el: XmlElement | undefined, name: string): Reason[] {
  return childrenNamed(el, name).map((r) => {
    const out: Reason = { additionalInfo: childrenNamed(r, 'AddtlInf').map((a) => a.text) };
    set(out, 'code', textAt(r, 'Rsn/Cd'));
    set(out, 'proprietary', textAt(r, 'Rsn/Prtry'));
    set(out, 'originator', textAt(r, 'Orgtr/Nm') ?? textAt(r, 'Orgtr/Id/OrgId/AnyBIC'));
    return out;
  });
}

/** Texts of all children with this name. */
export function texts(el: XmlElement | undefined, name: string): string[] {
  return childrenNamed(el, name).map((c) => c.text);
}

/** Sets an optional property only when the value is present, so views hold no `key: undefined` entries. */
export function set<T extends object, K extends keyof T>(obj: T, key: K, value: T[K] | undefined): void {
  if (value !== undefined) obj[key] = value;
}
