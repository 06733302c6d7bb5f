/**
 * Small helpers builders use to assemble trees: elements in one message namespace, optional leaves that vanish
 * when their value is absent, amounts, agents, reasons, and copies of parts of another message moved into the
 * namespace of the message being built. Order does not matter here; sortBySchema fixes it afterwards.
 */
import { element, type XmlElement } from '../xml/tree.js';
import type { Account, Agent, Amount, Party } from '../models/common.js';

export type Child = XmlElement | undefined | false;

const EXTERNAL_CODE = /^[A-Z0-9]+$/;

/** Element factory bound to one namespace. */
export class Nodes {
  constructor(readonly ns: string) {}

  /** An element with children; absent (undefined/false) children are skipped. */
  el(name: string, ...children: Child[]): XmlElement {
    return element(this.ns, name, { children: children.filter((c): c is XmlElement => c !== undefined && c !== false) });
  }

  /** An element with children, or undefined when none of the children is present. */
  opt(name: string, ...children: Child[]): XmlElement | undefined {
    const kids = children.filter((c): c is XmlElement => c !== undefined && c !== false);
    return kids.length === 0 ? undefined : element(this.ns, name, { children: kids });
  }

  /** A text element, or undefined when the value is absent. */
  leaf(name: string, text: string | undefined): XmlElement | undefined {
    return text === undefined ? undefined : element(this.ns, name, { text });
  }

  /** An amount element with its Ccy attribute, or undefined. */
  amount(name: string, amount: Amount | undefined): XmlElement | undefined {
    if (amount === undefined) return undefined;
    return element(this.ns, name, { text: amount.value, attrs: [{ ns: '', name: 'Ccy', prefix: '', value: amount.currency }] });
  }

  /** A financial institution (…/FinInstnId) from an agent view, or undefined. */
  agent(name: string, agent: Agent | undefined): XmlElement | undefined {
    if (agent === undefined) return undefined;
    const clr =
      agent.memberId === undefined
        ? undefined
        : this.el(
            'ClrSysMmbId',
            agent.clearingSystem === undefined ? undefined : this.el('ClrSysId', this.leaf('Cd', agent.clearingSystem)),
            this.leaf('MmbId', agent.memberId),
          );
    return this.el(
      name,
      this.el('FinInstnId', this.leaf('BICFI', agent.bicfi), clr, this.leaf('LEI', agent.lei), this.leaf('Nm', agent.name)),
    );
  }

  /**
   * A party (PartyIdentification: name, postal country, organisation id) from a party view, or undefined. Every
   * identifier goes under Id/OrgId, where the party view reads it back.
   */
  party(name: string, party: Party | undefined): XmlElement | undefined {
    if (party === undefined) return undefined;
    const orgId = this.opt(
      'OrgId',
      this.leaf('AnyBIC', party.anyBic),
      this.leaf('LEI', party.lei),
      party.otherId === undefined ? undefined : this.el('Othr', this.leaf('Id', party.otherId)),
    );
    return this.el(
      name,
      this.leaf('Nm', party.name),
      party.country === undefined ? undefined : this.el('PstlAdr', this.leaf('Ctry', party.country)),
      this.opt('Id', orgId),
    );
  }

  /** A cash account (IBAN or other id, currency, name) from an account view, or undefined. */
  account(name: string, account: Account | undefined): XmlElement | undefined {
    if (account === undefined) return undefined;
    const id = account.iban !== undefined ? this.leaf('IBAN', account.iban) : this.el('Othr', this.leaf('Id', account.other ?? ''));
    return this.el(name, this.el('Id', id), this.leaf('Ccy', account.currency), this.leaf('Nm', account.name));
  }

  /**
   * A code-or-proprietary choice (SvcLvl, LclInstrm, CtgyPurp, Purp): an external code (upper-case letters and
   * digits, at most `maxCodeLength` of them: 4 for most lists) goes in Cd, anything else in Prtry; undefined when the value is absent.
   */
  code(name: string, value: string | undefined, maxCodeLength = 4): XmlElement | undefined {
    if (value === undefined) return undefined;
    const isCode = value.length <= maxCodeLength && EXTERNAL_CODE.test(value);
    return this.el(name, isCode ? this.leaf('Cd', value) : this.leaf('Prtry', value));
  }

  /** One StsRsnInf / RtrRsnInf / CxlStsRsnInf element. */
  reason(name: string, reason: ReasonInput): XmlElement {
    return this.el(
      name,
      reason.originatorBic === undefined ? undefined : this.el('Orgtr', this.el('Id', this.el('OrgId', this.leaf('AnyBIC', reason.originatorBic)))),
      this.opt('Rsn', this.leaf('Cd', reason.code), reason.code === undefined ? this.leaf('Prtry', reason.proprietary) : undefined),
      ...(reason.additionalInfo ?? []).map((t) => this.leaf('AddtlInf', t)),
    );
  }

  /** A deep copy of a part of another message, moved into this namespace (prefixes dropped). */
  adopt(el: XmlElement, rename?: string): XmlElement {
    return {
      ns: el.ns === '' ? '' : this.ns,
      name: rename ?? el.name,
      prefix: '',
      attrs: el.attrs.map((a) => ({ ...a })),
      children: el.children.map((c) => this.adopt(c)),
      text: el.text,
      line: 0,
    };
  }
}

/** A status, return or cancellation reason to write: an external code (or a proprietary one) and texts. */
export interface ReasonInput {
  code?: string;
  proprietary?: string;
  /** AddtlInf lines, each at most 105 characters in every version. */
  additionalInfo?: string[];
  /** BIC of the party that gives the reason (Orgtr/Id/OrgId/AnyBIC). */
  originatorBic?: string;
}
