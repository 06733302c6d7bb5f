/** Typed view of a payment return (pacs.004 PmtRtr). */
import { child, childrenNamed, textAt, type XmlElement } from '../xml/tree.js';
import type { MessageId } from '../identify.js';
import { readAgent, readAmount, readParty, readReasons, set, type Agent, type Amount, type Party, type Reason } from './common.js';
import { readGroupHeader, type GroupHeader } from './credit-transfer.js';
import { readOriginalRefs, type OriginalRefs } from './status.js';

export interface ReturnTx extends OriginalRefs {
  returnId?: string;
  originalAmount?: Amount;
  originalSettlementDate?: string;
  returnedAmount: Amount;
  settlementDate?: string;
  returnedInstructedAmount?: Amount;
  chargeBearer?: string;
  instructingAgent?: Agent;
  instructedAgent?: Agent;
  /** RtrChain debtor and creditor (the parties of the return, the reverse of the original). */
  debtor?: Party;
  creditor?: Party;
  reasons: Reason[];
}

export interface PaymentReturn {
  family: 'pacs.004';
  id: MessageId;
  groupHeader: GroupHeader;
  original: OriginalRefs;
  transactions: ReturnTx[];
}

export function readPaymentReturn(document: XmlElement, id: MessageId): PaymentReturn {
  const body = child(document, 'PmtRtr');
  const orig = child(body, 'OrgnlGrpInf');
  const original: OriginalRefs = {};
  set(original, 'originalMsgId', textAt(orig, 'OrgnlMsgId'));
  set(original, 'originalMsgNmId', textAt(orig, 'OrgnlMsgNmId'));
  set(original, 'originalCreDtTm', textAt(orig, 'OrgnlCreDtTm'));
  return {
    family: 'pacs.004',
    id,
    groupHeader: readGroupHeader(child(body, 'GrpHdr')),
    original,
    transactions: childrenNamed(body, 'TxInf').map((tx) => {
      const out: ReturnTx = {
        returnedAmount: readAmount(child(tx, 'RtrdIntrBkSttlmAmt')) ?? { value: '', currency: '' },
        reasons: readReasons(tx, 'RtrRsnInf'),
      };
      set(out, 'returnId', textAt(tx, 'RtrId'));
      readOriginalRefs(tx, out);
      set(out, 'originalAmount', readAmount(child(tx, 'OrgnlIntrBkSttlmAmt')));
      set(out, 'originalSettlementDate', textAt(tx, 'OrgnlIntrBkSttlmDt'));
      set(out, 'settlementDate', textAt(tx, 'IntrBkSttlmDt'));
      set(out, 'returnedInstructedAmount', readAmount(child(tx, 'RtrdInstdAmt')));
      set(out, 'chargeBearer', textAt(tx, 'ChrgBr'));
      set(out, 'instructingAgent', readAgent(child(tx, 'InstgAgt')));
      set(out, 'instructedAgent', readAgent(child(tx, 'InstdAgt')));
      const chain = child(tx, 'RtrChain');
      set(out, 'debtor', readParty(child(chain, 'Dbtr')));
      set(out, 'creditor', readParty(child(chain, 'Cdtr')));
      return out;
    }),
  };
}
