/**
 * What a message says about the parties of each payment, flattened for the checks: the names, BICs, accounts,
 * LEIs, other ids and countries to screen, and the settlement date of each payment. Pure: reads the typed view.
 *
 * Payment indexes follow `Submission.payments` (pain.001: payment information blocks in order, their
 * transactions in order). Values that apply to the whole message (group header agents, the pain.001 initiating
 * party) carry index null.
 */
import type { Account, Agent, MessageModel, Party } from '../../iso20022/index.js';

export type SubjectKind = 'name' | 'bic' | 'account' | 'lei' | 'id' | 'country';

export interface Subject {
  /** Payment position, or null for a value that applies to the whole message. */
  index: number | null;
  /** Who carries the value, for the rejection text: "creditor", "debtor agent", ... */
  role: string;
  kind: SubjectKind;
  /** As the message carries it (normalised by the matcher). */
  value: string;
}

/** Families whose payments the checks look at; a cancellation (camt.056) or status request (pacs.028) is never held by them. */
export const CHECKED_FAMILIES: ReadonlySet<string> = new Set(['pacs.008', 'pacs.009', 'pacs.004', 'pain.001']);

class Collector {
  readonly out: Subject[] = [];

  party(index: number | null, role: string, party: Party | undefined): void {
    if (party === undefined) return;
    this.add(index, role, 'name', party.name);
    this.add(index, role, 'bic', party.anyBic);
    this.add(index, role, 'lei', party.lei);
    this.add(index, role, 'id', party.otherId);
    this.add(index, role, 'country', party.country);
  }

  agent(index: number | null, role: string, agent: Agent | undefined): void {
    if (agent === undefined) return;
    this.add(index, role, 'name', agent.name);
    this.add(index, role, 'bic', agent.bicfi);
    this.add(index, role, 'lei', agent.lei);
  }

  account(index: number | null, role: string, account: Account | undefined): void {
    if (account === undefined) return;
    this.add(index, role, 'account', account.iban);
    this.add(index, role, 'account', account.other);
  }

  add(index: number | null, role: string, kind: SubjectKind, value: string | undefined): void {
    if (value === undefined || value.trim() === '') return;
    this.out.push({ index, role, kind, value });
  }
}

/** Every screenable value of a message, with the payment it belongs to. */
export function screeningSubjects(model: MessageModel): Subject[] {
  const c = new Collector();
  switch (model.family) {
    case 'pacs.008':
    case 'pacs.009':
      c.agent(null, 'instructing agent', model.groupHeader.instructingAgent);
      c.agent(null, 'instructed agent', model.groupHeader.instructedAgent);
      model.transactions.forEach((tx, i) => {
        c.party(i, 'ultimate debtor', tx.ultimateDebtor);
        c.party(i, 'debtor', tx.debtor);
        c.account(i, 'debtor account', tx.debtorAccount);
        c.agent(i, 'debtor agent', tx.debtorAgent);
        c.agent(i, 'instructing agent', tx.instructingAgent);
        c.agent(i, 'instructed agent', tx.instructedAgent);
        for (const agent of tx.intermediaryAgents) c.agent(i, 'intermediary agent', agent);
        c.agent(i, 'creditor agent', tx.creditorAgent);
        c.party(i, 'creditor', tx.creditor);
        c.account(i, 'creditor account', tx.creditorAccount);
        c.party(i, 'ultimate creditor', tx.ultimateCreditor);
        const u = tx.underlying;
        if (u !== undefined) {
          c.party(i, 'underlying debtor', u.debtor);
          c.agent(i, 'underlying debtor agent', u.debtorAgent);
          c.agent(i, 'underlying creditor agent', u.creditorAgent);
          c.party(i, 'underlying creditor', u.creditor);
        }
      });
      break;
    case 'pacs.004':
      c.agent(null, 'instructing agent', model.groupHeader.instructingAgent);
      c.agent(null, 'instructed agent', model.groupHeader.instructedAgent);
      model.transactions.forEach((tx, i) => {
        c.party(i, 'debtor', tx.debtor);
        c.party(i, 'creditor', tx.creditor);
        c.agent(i, 'instructing agent', tx.instructingAgent);
        c.agent(i, 'instructed agent', tx.instructedAgent);
      });
      break;
    case 'pain.001': {
      c.party(null, 'initiating party', model.initiatingParty);
      let i = 0;
      for (const info of model.paymentInfos) {
        for (const tx of info.transactions) {
          c.party(i, 'debtor', info.debtor);
          c.account(i, 'debtor account', info.debtorAccount);
          c.agent(i, 'debtor agent', info.debtorAgent);
          c.party(i, 'ultimate debtor', tx.ultimateDebtor);
          c.agent(i, 'creditor agent', tx.creditorAgent);
          c.party(i, 'creditor', tx.creditor);
          c.account(i, 'creditor account', tx.creditorAccount);
          c.party(i, 'ultimate creditor', tx.ultimateCreditor);
          i += 1;
        }
      }
      break;
    }
    default:
      break;
  }
  return c.out;
}

/**
 * The settlement date of each payment, by index: IntrBkSttlmDt of the transaction or of the group header (pacs),
 * the date part of ReqdExctnDt (pain.001). Undefined where the message gives none.
 */
export function settlementDates(model: MessageModel): Array<string | undefined> {
  const datePart = (v: string | undefined) => (v === undefined ? undefined : v.trim().slice(0, 10));
  switch (model.family) {
    case 'pacs.008':
    case 'pacs.009':
    case 'pacs.004':
      return model.transactions.map((tx) => datePart(tx.settlementDate ?? model.groupHeader.interbankSettlementDate));
    case 'pain.001':
      return model.paymentInfos.flatMap((info) => info.transactions.map(() => datePart(info.requestedExecutionDate)));
    default:
      return [];
  }
}
