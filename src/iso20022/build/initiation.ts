/**
 * pain.001 (customer credit transfer initiation) from a typed input: what a customer or its system sends to its
 * bank. The input uses the shapes of the typed view (models/initiation.ts), so a built message read back with
 * `readInitiation` gives the input again. The counts and control sums (group and each PmtInf) are computed here,
 * with exact decimal arithmetic; every amount is checked against its currency's minor unit first.
 *
 * Version differences the builder handles:
 *   ReqdExctnDt            a bare date in .03; Dt (or DtTm for a date-time) in .09 and later
 *   FinInstnId BIC         BIC in .03; BICFI later          (written as BICFI, renamed for .03)
 *   OrgId BIC              BICOrBEI in .03; AnyBIC later    (written as AnyBIC, renamed for .03)
 *   PmtId/UETR, LEIs       .09 and later only: an input that has them is refused for .03, never silently cut
 */
import { MxError } from '../../errors.js';
import type { Account, Agent, Amount, Party } from '../models/common.js';
import type { InitiationTx, PaymentInfo } from '../models/initiation.js';
import { sumDecimals, toMinorUnits } from '../money.js';
import type { XmlElement } from '../xml/tree.js';
import { finish, nodesFor, type BuiltMessage } from './common.js';
import type { Nodes } from './nodes.js';
import { allowsChild, typeAt } from './order.js';
import { buildVersion } from './versions.js';

/** One CdtTrfTxInf: the typed view's fields, with the creditor made mandatory (a transfer names its payee). */
export type InitiationTxInput = Pick<
  InitiationTx,
  | 'instrId'
  | 'endToEndId'
  | 'uetr'
  | 'amount'
  | 'chargeBearer'
  | 'ultimateDebtor'
  | 'creditorAgent'
  | 'creditorAccount'
  | 'ultimateCreditor'
  | 'purpose'
  | 'remittance'
> & { creditor: Party };

/** One PmtInf block: one debtor, account and agent for all its transactions. PmtMtd is always TRF. */
export type PaymentInfoInput = Pick<PaymentInfo, 'pmtInfId' | 'serviceLevel' | 'categoryPurpose' | 'chargeBearer'> & {
  /** BtchBookg: true asks for one booking of the whole block, false for one per transaction. */
  batchBooking?: boolean;
  /** ReqdExctnDt: a date ('2026-07-03'), or a date-time in versions after .03. */
  requestedExecutionDate: string;
  debtor: Party;
  debtorAccount: Account;
  debtorAgent: Agent;
  transactions: readonly InitiationTxInput[];
};

export interface CustomerCreditTransferInitiationInput {
  /** Version such as '001.09'; default: the newest the hub builds. */
  version?: string;
  msgId: string;
  creDtTm: string;
  initiatingParty: Party;
  paymentInfos: readonly PaymentInfoInput[];
}

/** pain.001 (CstmrCdtTrfInitn) from a typed input. NbOfTxs and CtrlSum are counted, never taken from the caller. */
export function buildCustomerCreditTransferInitiation(input: CustomerCreditTransferInitiationInput): BuiltMessage {
  const id = buildVersion('pain.001', input.version);
  const n = nodesFor(id);
  if (input.paymentInfos.length === 0) throw new MxError('BAD_REQUEST', 'a pain.001 needs at least one payment information block');
  const dateAsChoice = allowsChild(typeAt(id.id, 'CstmrCdtTrfInitn/PmtInf/ReqdExctnDt'), 'Dt');
  const allAmounts: string[] = [];
  const blocks = input.paymentInfos.map((p, b) => {
    if (p.transactions.length === 0) {
      throw new MxError('BAD_REQUEST', `payment information ${p.pmtInfId} has no transactions`, { details: { pmtInfId: p.pmtInfId } });
    }
    const amounts = p.transactions.map((tx, i) => checkedAmount(tx.amount, `payment information ${b + 1}, transaction ${i + 1}`));
    allAmounts.push(...amounts);
    return n.el(
      'PmtInf',
      n.leaf('PmtInfId', p.pmtInfId),
      n.leaf('PmtMtd', 'TRF'),
      p.batchBooking !== undefined && n.leaf('BtchBookg', String(p.batchBooking)),
      n.leaf('NbOfTxs', String(p.transactions.length)),
      n.leaf('CtrlSum', sumDecimals(amounts)),
      n.opt('PmtTpInf', n.code('SvcLvl', p.serviceLevel), n.code('CtgyPurp', p.categoryPurpose)),
      requestedExecutionDate(n, p.requestedExecutionDate, dateAsChoice, id.id),
      n.party('Dbtr', p.debtor),
      n.account('DbtrAcct', p.debtorAccount),
      n.agent('DbtrAgt', p.debtorAgent),
      n.leaf('ChrgBr', p.chargeBearer),
      ...p.transactions.map((tx) => transaction(n, tx)),
    );
  });
  const body = n.el(
    'CstmrCdtTrfInitn',
    n.el(
      'GrpHdr',
      n.leaf('MsgId', input.msgId),
      n.leaf('CreDtTm', input.creDtTm),
      n.leaf('NbOfTxs', String(allAmounts.length)),
      n.leaf('CtrlSum', sumDecimals(allAmounts)),
      n.party('InitgPty', input.initiatingParty),
    ),
    ...blocks,
  );
  fitToVersion(body, id.id);
  return finish(id, n, body);
}

function transaction(n: Nodes, tx: InitiationTxInput): XmlElement {
  return n.el(
    'CdtTrfTxInf',
    n.el('PmtId', n.leaf('InstrId', tx.instrId), n.leaf('EndToEndId', tx.endToEndId), n.leaf('UETR', tx.uetr)),
    n.el('Amt', n.amount('InstdAmt', tx.amount)),
    n.leaf('ChrgBr', tx.chargeBearer),
    n.party('UltmtDbtr', tx.ultimateDebtor),
    n.agent('CdtrAgt', tx.creditorAgent),
    n.party('Cdtr', tx.creditor),
    n.account('CdtrAcct', tx.creditorAccount),
    n.party('UltmtCdtr', tx.ultimateCreditor),
    n.code('Purp', tx.purpose),
    tx.remittance !== undefined &&
      n.opt(
        'RmtInf',
        ...tx.remittance.unstructured.map((u) => n.leaf('Ustrd', u)),
        ...tx.remittance.references.map((r) => n.el('Strd', n.el('CdtrRefInf', n.leaf('Ref', r)))),
      ),
  );
}

/** The amount's value, after checking it is positive and fits its currency's minor unit (BAD_REQUEST if not). */
function checkedAmount(amount: Amount, where: string): string {
  let minor: bigint;
  try {
    minor = toMinorUnits(amount.value, amount.currency);
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    throw new MxError('BAD_REQUEST', `${where}: ${reason}`, { cause: e, details: { ...amount } });
  }
  if (minor <= 0n) throw new MxError('BAD_REQUEST', `${where}: amount ${amount.value} is not positive`, { details: { ...amount } });
  return amount.value;
}

function requestedExecutionDate(n: Nodes, value: string, asChoice: boolean, messageId: string): XmlElement {
  const isDateTime = value.includes('T');
  if (asChoice) return n.el('ReqdExctnDt', n.leaf(isDateTime ? 'DtTm' : 'Dt', value));
  if (isDateTime) {
    throw new MxError('BAD_REQUEST', `${messageId} takes a date as requested execution date, not a date-time (${value})`);
  }
  return n.leaf('ReqdExctnDt', value)!;
}

/** Names the builder writes in their current form, and what older versions call them. */
const OLDER_NAMES: Readonly<Record<string, string>> = { BICFI: 'BIC', AnyBIC: 'BICOrBEI' };

/**
 * Fits a tree built with the current element names to the message version: renames what an older version calls
 * differently, and refuses (BAD_REQUEST) a value the version has no place for, so nothing the caller gave is lost
 * without a word. Runs before sortBySchema, which treats an unknown element as a builder bug.
 */
function fitToVersion(body: XmlElement, messageId: string): void {
  const walk = (el: XmlElement, type: string | undefined, path: string): void => {
    el.children.forEach((kid, i) => {
      let current = kid;
      if (!allowsChild(type, kid.name)) {
        const older = OLDER_NAMES[kid.name];
        if (older === undefined || !allowsChild(type, older)) {
          throw new MxError('BAD_REQUEST', `${messageId} has no ${path}/${kid.name}; build a later version to carry it`, {
            details: { version: messageId, element: `${path}/${kid.name}` },
          });
        }
        current = { ...kid, name: older };
        el.children[i] = current;
      }
      const kidPath = `${path}/${current.name}`;
      walk(current, typeAt(messageId, kidPath), kidPath);
    });
  };
  walk(body, typeAt(messageId, body.name), body.name);
}
