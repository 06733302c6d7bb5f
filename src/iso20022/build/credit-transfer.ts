/**
 * pacs.008 (interbank customer credit transfer) from a pain.001 (customer initiation): every transaction of every
 * payment information block becomes one CdtTrfTxInf, with the block's debtor, account, agent and payment type.
 */
import { MxError } from '../../errors.js';
import type { SplitMessage } from '../message.js';
import { readAgent, type Agent } from '../models/common.js';
import { child, childrenNamed, textAt, type XmlElement } from '../xml/tree.js';
import { carry, carryAccount, carryAgent, carryParty, type Place } from './carry.js';
import { finish, nodesFor, originalDocument, type BuiltMessage } from './common.js';
import { answerVersion } from './versions.js';

export interface CreditTransferOptions {
  msgId: string;
  creDtTm: string;
  version?: string;
  settlementDate: string;
  /** SttlmInf/SttlmMtd: CLRG, INDA, INGA or COVE (default CLRG). */
  settlementMethod?: string;
  /** SttlmInf/ClrSys/Cd, when settling through a clearing system. */
  clearingSystem?: string;
  /** TxId per transaction, in document order across all PmtInf blocks. */
  txIds?: readonly string[];
  /** UETR for transactions whose pain.001 carries none, in document order. */
  uetrs?: readonly string[];
  /** ChrgBr when neither the transaction nor its block gives one (pacs.008 requires it; default SHAR). */
  chargeBearer?: string;
  instructingAgent?: Agent;
  instructedAgent?: Agent;
}

export function buildPacs008(original: SplitMessage, options: CreditTransferOptions): BuiltMessage {
  const doc = originalDocument(original, ['pain.001'], 'pacs.008');
  const origId = original.documentId!;
  const id = answerVersion(origId, 'pacs.008', options.version);
  const n = nodesFor(id);
  const body = doc.children[0]!;
  const grp = child(body, 'GrpHdr');
  const src = (path: string): Place => ({ id: origId, path: `CstmrCdtTrfInitn/${path}` });
  const dst = (path: string): Place => ({ id, path: `FIToFICstmrCdtTrf/CdtTrfTxInf/${path}` });
  const txs: XmlElement[] = [];
  let position = 0;
  for (const pmtInf of childrenNamed(body, 'PmtInf')) {
    for (const tx of childrenNamed(pmtInf, 'CdtTrfTxInf')) {
      const k = position++;
      const amount = child(child(tx, 'Amt'), 'InstdAmt');
      if (amount === undefined) {
        throw new MxError('MESSAGE_INVALID', `transaction ${k + 1} of the pain.001 has no InstdAmt to settle`);
      }
      const debtorAgent = child(pmtInf, 'DbtrAgt');
      const creditorAgent = child(tx, 'CdtrAgt');
      if (debtorAgent === undefined || creditorAgent === undefined) {
        throw new MxError('MESSAGE_INVALID', `transaction ${k + 1} of the pain.001 lacks a debtor or creditor agent`);
      }
      const txPath = (name: string) => src(`PmtInf/CdtTrfTxInf/${name}`);
      const pmtPath = (name: string) => src(`PmtInf/${name}`);
      const paymentType = child(tx, 'PmtTpInf') ?? child(pmtInf, 'PmtTpInf');
      const paymentTypePath = child(tx, 'PmtTpInf') !== undefined ? txPath('PmtTpInf') : pmtPath('PmtTpInf');
      const initgPty = child(grp, 'InitgPty');
      txs.push(
        n.el(
          'CdtTrfTxInf',
          n.el(
            'PmtId',
            n.leaf('InstrId', textAt(tx, 'PmtId/InstrId')),
            n.leaf('EndToEndId', textAt(tx, 'PmtId/EndToEndId') ?? 'NOTPROVIDED'),
            n.leaf('TxId', options.txIds?.[k]),
            n.leaf('UETR', textAt(tx, 'PmtId/UETR') ?? options.uetrs?.[k]),
          ),
          carry(n, paymentType, paymentTypePath, dst('PmtTpInf'), 'PmtTpInf', (p) =>
            n.opt(
              'PmtTpInf',
              n.opt('SvcLvl', n.leaf('Cd', textAt(p, 'SvcLvl/Cd'))),
              n.opt('LclInstrm', n.leaf('Cd', textAt(p, 'LclInstrm/Cd'))),
              n.opt('CtgyPurp', n.leaf('Cd', textAt(p, 'CtgyPurp/Cd'))),
            ),
          ),
          n.adopt(amount, 'IntrBkSttlmAmt'),
          n.leaf('IntrBkSttlmDt', options.settlementDate),
          n.leaf('ChrgBr', textAt(tx, 'ChrgBr') ?? textAt(pmtInf, 'ChrgBr') ?? options.chargeBearer ?? 'SHAR'),
          n.agent('InstgAgt', options.instructingAgent ?? readAgent(debtorAgent)),
          n.agent('InstdAgt', options.instructedAgent ?? readAgent(creditorAgent)),
          carryParty(n, child(tx, 'UltmtDbtr') ?? child(pmtInf, 'UltmtDbtr'),
            child(tx, 'UltmtDbtr') !== undefined ? txPath('UltmtDbtr') : pmtPath('UltmtDbtr'), dst('UltmtDbtr'), 'UltmtDbtr'),
          carryParty(n, initgPty, src('GrpHdr/InitgPty'), dst('InitgPty'), 'InitgPty'),
          carryParty(n, child(pmtInf, 'Dbtr'), pmtPath('Dbtr'), dst('Dbtr'), 'Dbtr') ?? n.el('Dbtr'),
          carryAccount(n, child(pmtInf, 'DbtrAcct'), pmtPath('DbtrAcct'), dst('DbtrAcct'), 'DbtrAcct'),
          carryAgent(n, debtorAgent, pmtPath('DbtrAgt'), dst('DbtrAgt'), 'DbtrAgt'),
          carryAgent(n, creditorAgent, txPath('CdtrAgt'), dst('CdtrAgt'), 'CdtrAgt'),
          carryParty(n, child(tx, 'Cdtr'), txPath('Cdtr'), dst('Cdtr'), 'Cdtr') ?? n.el('Cdtr'),
          carryAccount(n, child(tx, 'CdtrAcct'), txPath('CdtrAcct'), dst('CdtrAcct'), 'CdtrAcct'),
          carryParty(n, child(tx, 'UltmtCdtr'), txPath('UltmtCdtr'), dst('UltmtCdtr'), 'UltmtCdtr'),
          carry(n, child(tx, 'Purp'), txPath('Purp'), dst('Purp'), 'Purp', (p) => n.opt('Purp', n.leaf('Cd', textAt(p, 'Cd')))),
          carry(n, child(tx, 'RmtInf'), txPath('RmtInf'), dst('RmtInf'), 'RmtInf', (r) =>
            n.opt('RmtInf', ...childrenNamed(r, 'Ustrd').map((u) => n.leaf('Ustrd', u.text))),
          ),
        ),
      );
    }
  }
  const transfer = n.el(
    'FIToFICstmrCdtTrf',
    n.el(
      'GrpHdr',
      n.leaf('MsgId', options.msgId),
      n.leaf('CreDtTm', options.creDtTm),
      n.leaf('NbOfTxs', String(txs.length)),
      n.el(
        'SttlmInf',
        n.leaf('SttlmMtd', options.settlementMethod ?? 'CLRG'),
        options.clearingSystem !== undefined && n.el('ClrSys', n.leaf('Cd', options.clearingSystem)),
      ),
    ),
    ...txs,
  );
  return finish(id, n, transfer);
}
