/**
 * Credit transfers built from a typed input rather than from another message: pacs.008 (customer credit transfer)
 * and pacs.009 (financial institution credit transfer, with its cover variant). The inputs use the shapes of the
 * typed views (models/credit-transfer.ts), so a built message read back with `readModel` gives the input again.
 * Amounts are decimal strings with their currency, as everywhere in the layer.
 */
import { MxError } from '../../errors.js';
import type { Account, Agent, Amount, Party } from '../models/common.js';
import type { CreditTransferTx, GroupHeader } from '../models/credit-transfer.js';
import type { XmlElement } from '../xml/tree.js';
import { finish, nodesFor, type BuiltMessage } from './common.js';
import type { Nodes } from './nodes.js';
import { buildVersion } from './versions.js';

/** The group header to write; NbOfTxs is counted by the builder. SttlmInf/SttlmMtd is required (CLRG, INDA, INGA, COVE). */
export type CreditTransferGroupInput = Omit<GroupHeader, 'nbOfTxs' | 'settlementMethod'> & { settlementMethod: string };

/** Fields both kinds of transfer share: ids, payment type, amount, settlement date, the agents of the chain. */
interface TransferTxBase {
  instrId?: string;
  endToEndId: string;
  txId?: string;
  uetr?: string;
  clrSysRef?: string;
  serviceLevel?: string;
  localInstrument?: string;
  categoryPurpose?: string;
  /** IntrBkSttlmAmt. */
  amount: Amount;
  /** IntrBkSttlmDt of the transaction. */
  settlementDate?: string;
  instructingAgent?: Agent;
  instructedAgent?: Agent;
  /** IntrmyAgt1..3, in order (at most three). */
  intermediaryAgents?: Agent[];
  debtorAccount?: Account;
  creditorAccount?: Account;
  purpose?: string;
}

/** One CdtTrfTxInf of a pacs.008: the typed view's fields, with the ones every version requires made mandatory. */
export type CustomerCreditTransferTxInput = TransferTxBase &
  Pick<CreditTransferTx, 'instructedAmount' | 'exchangeRate' | 'ultimateDebtor' | 'ultimateCreditor' | 'remittance'> & {
    /** ChrgBr: DEBT, CRED, SHAR or SLEV. */
    chargeBearer: string;
    debtor: Party;
    debtorAgent: Agent;
    creditorAgent: Agent;
    creditor: Party;
  };

export interface CustomerCreditTransferInput {
  /** Version such as '001.08'; default: the newest the hub builds. */
  version?: string;
  groupHeader: CreditTransferGroupInput;
  transactions: readonly CustomerCreditTransferTxInput[];
}

/** The customer transfer a pacs.009 COV covers (UndrlygCstmrCdtTrf). */
export interface UnderlyingTransferInput {
  debtor: Party;
  debtorAgent: Agent;
  creditorAgent: Agent;
  creditor: Party;
  instructedAmount?: Amount;
}

/** One CdtTrfTxInf of a pacs.009: debtor and creditor are institutions; the UETR is required. */
export type InstitutionCreditTransferTxInput = TransferTxBase & {
  uetr: string;
  debtor: Agent;
  debtorAgent?: Agent;
  creditorAgent?: Agent;
  creditor: Agent;
  /** RmtInf/Ustrd lines (a pacs.009 has no structured remittance). */
  remittance?: { unstructured: string[] };
  underlying?: UnderlyingTransferInput;
};

export interface InstitutionCreditTransferInput {
  version?: string;
  groupHeader: CreditTransferGroupInput;
  transactions: readonly InstitutionCreditTransferTxInput[];
}

/** pacs.008 (FIToFICstmrCdtTrf) from a typed input. */
export function buildCustomerCreditTransfer(input: CustomerCreditTransferInput): BuiltMessage {
  const id = buildVersion('pacs.008', input.version);
  const n = nodesFor(id);
  const txs = input.transactions.map((tx, i) =>
    n.el(
      'CdtTrfTxInf',
      ...commonTx(n, tx, i),
      n.amount('InstdAmt', tx.instructedAmount),
      n.leaf('XchgRate', tx.exchangeRate),
      n.leaf('ChrgBr', tx.chargeBearer),
      n.party('UltmtDbtr', tx.ultimateDebtor),
      n.party('Dbtr', tx.debtor),
      n.agent('DbtrAgt', tx.debtorAgent),
      n.agent('CdtrAgt', tx.creditorAgent),
      n.party('Cdtr', tx.creditor),
      n.party('UltmtCdtr', tx.ultimateCreditor),
      tx.remittance !== undefined &&
        n.opt(
          'RmtInf',
          ...tx.remittance.unstructured.map((u) => n.leaf('Ustrd', u)),
          ...tx.remittance.references.map((r) => n.el('Strd', n.el('CdtrRefInf', n.leaf('Ref', r)))),
        ),
    ),
  );
  return finish(id, n, n.el('FIToFICstmrCdtTrf', groupHeader(n, input.groupHeader, txs.length), ...txs));
}

/** pacs.009 (FICdtTrf) from a typed input; a transaction with `underlying` makes it a cover payment (COV). */
export function buildInstitutionCreditTransfer(input: InstitutionCreditTransferInput): BuiltMessage {
  const id = buildVersion('pacs.009', input.version);
  const n = nodesFor(id);
  const txs = input.transactions.map((tx, i) => {
    const u = tx.underlying;
    return n.el(
      'CdtTrfTxInf',
      ...commonTx(n, tx, i),
      n.agent('Dbtr', tx.debtor),
      n.agent('DbtrAgt', tx.debtorAgent),
      n.agent('CdtrAgt', tx.creditorAgent),
      n.agent('Cdtr', tx.creditor),
      tx.remittance !== undefined && n.opt('RmtInf', ...tx.remittance.unstructured.map((t) => n.leaf('Ustrd', t))),
      u !== undefined &&
        n.el(
          'UndrlygCstmrCdtTrf',
          n.party('Dbtr', u.debtor),
          n.agent('DbtrAgt', u.debtorAgent),
          n.agent('CdtrAgt', u.creditorAgent),
          n.party('Cdtr', u.creditor),
          n.amount('InstdAmt', u.instructedAmount),
        ),
    );
  });
  return finish(id, n, n.el('FICdtTrf', groupHeader(n, input.groupHeader, txs.length), ...txs));
}

function groupHeader(n: Nodes, g: CreditTransferGroupInput, count: number): XmlElement {
  if (count === 0) throw new MxError('BAD_REQUEST', 'a credit transfer needs at least one transaction');
  return n.el(
    'GrpHdr',
    n.leaf('MsgId', g.msgId),
    n.leaf('CreDtTm', g.creDtTm),
    n.leaf('NbOfTxs', String(count)),
    n.leaf('CtrlSum', g.ctrlSum),
    n.amount('TtlIntrBkSttlmAmt', g.totalInterbankSettlementAmount),
    n.leaf('IntrBkSttlmDt', g.interbankSettlementDate),
    n.el('SttlmInf', n.leaf('SttlmMtd', g.settlementMethod), n.code('ClrSys', g.clearingSystem, 3)),
    n.agent('InstgAgt', g.instructingAgent),
    n.agent('InstdAgt', g.instructedAgent),
  );
}

/** The elements every CdtTrfTxInf has, whichever the kind of transfer; sortBySchema puts them in place. */
function commonTx(n: Nodes, tx: TransferTxBase, index: number): Array<XmlElement | undefined> {
  const intermediaries = tx.intermediaryAgents ?? [];
  if (intermediaries.length > 3) {
    throw new MxError('BAD_REQUEST', `transaction ${index + 1} has ${intermediaries.length} intermediary agents; at most 3`);
  }
  return [
    n.el(
      'PmtId',
      n.leaf('InstrId', tx.instrId),
      n.leaf('EndToEndId', tx.endToEndId),
      n.leaf('TxId', tx.txId),
      n.leaf('UETR', tx.uetr),
      n.leaf('ClrSysRef', tx.clrSysRef),
    ),
    n.opt('PmtTpInf', n.code('SvcLvl', tx.serviceLevel), n.code('LclInstrm', tx.localInstrument, 35), n.code('CtgyPurp', tx.categoryPurpose)),
    n.amount('IntrBkSttlmAmt', tx.amount),
    n.leaf('IntrBkSttlmDt', tx.settlementDate),
    n.agent('InstgAgt', tx.instructingAgent),
    n.agent('InstdAgt', tx.instructedAgent),
    ...intermediaries.map((a, k) => n.agent(`IntrmyAgt${k + 1}`, a)),
    n.account('DbtrAcct', tx.debtorAccount),
    n.account('CdtrAcct', tx.creditorAccount),
    n.code('Purp', tx.purpose),
  ];
}
