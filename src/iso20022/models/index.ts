/**
 * One entry point from a split message to its typed view, chosen by the Document's family.
 */
import { MxError } from '../../errors.js';
import type { SplitMessage } from '../message.js';
import { readCreditTransfer, type CreditTransfer } from './credit-transfer.js';
import { readInitiation, type CreditTransferInitiation } from './initiation.js';
import { readCancellationRequest, readResolution, type CancellationRequest, type InvestigationResolution } from './investigation.js';
import { readPaymentReturn, type PaymentReturn } from './payment-return.js';
import { readCashManagementReport, type CashManagementReport } from './statement.js';
import { readStatusRequest, type StatusRequest } from './status-request.js';
import { readStatusReport, type StatusReport } from './status.js';

export type MessageModel =
  | CreditTransfer
  | StatusReport
  | PaymentReturn
  | StatusRequest
  | CancellationRequest
  | InvestigationResolution
  | CreditTransferInitiation
  | CashManagementReport;

/** The typed view of a message's Document. MESSAGE_UNSUPPORTED for a header alone or an unknown family. */
export function readModel(message: SplitMessage): MessageModel {
  const doc = message.document;
  const id = message.documentId;
  if (doc === undefined || id === undefined) {
    throw new MxError('MESSAGE_UNSUPPORTED', 'the message has no Document to read');
  }
  switch (id.family) {
    case 'pacs.008':
    case 'pacs.009':
      return readCreditTransfer(doc, id);
    case 'pacs.002':
    case 'pain.002':
      return readStatusReport(doc, id);
    case 'pacs.004':
      return readPaymentReturn(doc, id);
    case 'pacs.028':
      return readStatusRequest(doc, id);
    case 'camt.056':
      return readCancellationRequest(doc, id);
    case 'camt.029':
      return readResolution(doc, id);
    case 'pain.001':
      return readInitiation(doc, id);
    case 'camt.052':
    case 'camt.053':
    case 'camt.054':
      return readCashManagementReport(doc, id);
    default:
      throw new MxError('MESSAGE_UNSUPPORTED', `no typed view for ${id.id}`, { details: { id: id.id } });
  }
}
