/** Typed view of a customer credit transfer initiation (pain.001 CstmrCdtTrfInitn). */
import { child, childrenNamed, textAt, type XmlElement } from '../xml/tree.js';
import type { MessageId } from '../identify.js';
import { readAccount, readAgent, readAmount, readParty, set, type Account, type Agent, type Amount, type Party } from './common.js';
import { readRemittance, type Remittance } from './credit-transfer.js';

export interface InitiationTx {
  instrId?: string;
  endToEndId: string;
  uetr?: string;
  /** Amt/InstdAmt, or Amt/EqvtAmt/Amt when the amount is given as an equivalent. */
  amount: Amount;
  chargeBearer?: string;
  ultimateDebtor?: Party;
  creditorAgent?: Agent;
  creditor?: Party;
  creditorAccount?: Account;
  ultimateCreditor?: Party;
  purpose?: string;
  remittance?: Remittance;
}

export interface PaymentInfo {
  pmtInfId: string;
  pmtMtd?: string;
  batchBooking?: string;
  nbOfTxs?: string;
  ctrlSum?: string;
  serviceLevel?: string;
  categoryPurpose?: string;
  /** ReqdExctnDt: a date (version 03) or its Dt / DtTm (later versions). */
  requestedExecutionDate?: string;
  debtor?: Party;
  debtorAccount?: Account;
  debtorAgent?: Agent;
  chargeBearer?: string;
  transactions: InitiationTx[];
}

export interface CreditTransferInitiation {
  family: 'pain.001';
  id: MessageId;
  msgId: string;
  creDtTm: string;
  nbOfTxs?: string;
  ctrlSum?: string;
  initiatingParty?: Party;
  paymentInfos: PaymentInfo[];
}

export function readInitiation(document: XmlElement, id: MessageId): CreditTransferInitiation {
  const body = child(document, 'CstmrCdtTrfInitn');
  const grp = child(body, 'GrpHdr');
  const out: CreditTransferInitiation = {
    family: 'pain.001',
    id,
    msgId: textAt(grp, 'MsgId') ?? '',
    creDtTm: textAt(grp, 'CreDtTm') ?? '',
    paymentInfos: childrenNamed(body, 'PmtInf').map(readPaymentInfo),
  };
  set(out, 'nbOfTxs', textAt(grp, 'NbOfTxs'));
  set(out, 'ctrlSum', textAt(grp, 'CtrlSum'));
  set(out, 'initiatingParty', readParty(child(grp, 'InitgPty')));
  return out;
}

function readPaymentInfo(p: XmlElement): PaymentInfo {
  const out: PaymentInfo = { pmtInfId: textAt(p, 'PmtInfId') ?? '', transactions: childrenNamed(p, 'CdtTrfTxInf').map(readTx) };
  set(out, 'pmtMtd', textAt(p, 'PmtMtd'));
  set(out, 'batchBooking', textAt(p, 'BtchBookg'));
  set(out, 'nbOfTxs', textAt(p, 'NbOfTxs'));
  set(out, 'ctrlSum', textAt(p, 'CtrlSum'));
  set(out, 'serviceLevel', textAt(p, 'PmtTpInf/SvcLvl/Cd') ?? textAt(p, 'PmtTpInf/SvcLvl/Prtry'));
  set(out, 'categoryPurpose', textAt(p, 'PmtTpInf/CtgyPurp/Cd') ?? textAt(p, 'PmtTpInf/CtgyPurp/Prtry'));
  const reqd = child(p, 'ReqdExctnDt');
  if (reqd !== undefined) out.requestedExecutionDate = reqd.children.length > 0 ? reqd.children[0]!.text : reqd.text;
  set(out, 'debtor', readParty(child(p, 'Dbtr')));
  set(out, 'debtorAccount', readAccount(child(p, 'DbtrAcct')));
  set(out, 'debtorAgent', readAgent(child(p, 'DbtrAgt')));
  set(out, 'chargeBearer', textAt(p, 'ChrgBr'));
  return out;
}

function readTx(tx: XmlElement): InitiationTx {
  const out: InitiationTx = {
    endToEndId: textAt(tx, 'PmtId/EndToEndId') ?? '',
    amount: readAmount(child(child(tx, 'Amt'), 'InstdAmt')) ??
      readAmount(child(child(child(tx, 'Amt'), 'EqvtAmt'), 'Amt')) ?? { value: '', currency: '' },
  };
  set(out, 'instrId', textAt(tx, 'PmtId/InstrId'));
  set(out, 'uetr', textAt(tx, 'PmtId/UETR'));
  set(out, 'chargeBearer', textAt(tx, 'ChrgBr'));
  set(out, 'ultimateDebtor', readParty(child(tx, 'UltmtDbtr')));
  set(out, 'creditorAgent', readAgent(child(tx, 'CdtrAgt')));
  set(out, 'creditor', readParty(child(tx, 'Cdtr')));
  set(out, 'creditorAccount', readAccount(child(tx, 'CdtrAcct')));
  set(out, 'ultimateCreditor', readParty(child(tx, 'UltmtCdtr')));
  set(out, 'purpose', textAt(tx, 'Purp/Cd') ?? textAt(tx, 'Purp/Prtry'));
  set(out, 'remittance', readRemittance(child(tx, 'RmtInf')));
  return out;
}
