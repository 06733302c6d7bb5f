/**
 * The ISO 20022 message layer: parse, identify, read, build and serialize messages. No I/O: callers pass bytes or
 * text in and get values out. Everything importable from outside the module is listed here explicitly.
 */
export type { XmlAttribute, XmlDocument, XmlElement } from './xml/tree.js';
export { XSI_NS, at, attr, child, childrenNamed, cloneElement, element, findElement, textAt } from './xml/tree.js';
export type { XmlLimits, XmlParseOptions } from './xml/parse.js';
export { DEFAULT_XML_LIMITS, parseXml } from './xml/parse.js';
export type { SerializeOptions } from './xml/serialize.js';
export { escapeAttr, escapeText, serializeXml } from './xml/serialize.js';
export type { MessageId, SupportedFamily } from './identify.js';
export {
  ISO_NS_PREFIX,
  SUPPORTED_MESSAGES,
  identifyNamespace,
  isBuildable,
  isSupported,
  isSupportedFamily,
  namespaceOf,
  parseMessageId,
} from './identify.js';
export type { MessageFinding, SplitMessage } from './message.js';
export { parseMessage, splitMessage } from './message.js';
export type { AppHeader, HeaderParty } from './models/head.js';
export { readAppHeader } from './models/head.js';
export type { Account, Agent, Amount, Party, Reason } from './models/common.js';
export type { MessageModel } from './models/index.js';
export { readModel } from './models/index.js';
export type { CreditTransfer, CreditTransferTx, GroupHeader, Remittance } from './models/credit-transfer.js';
export { readCreditTransfer } from './models/credit-transfer.js';
export type { OriginalRefs, PaymentInfoStatus, StatusReport, TransactionStatus } from './models/status.js';
export { readStatusReport } from './models/status.js';
export type { PaymentReturn, ReturnTx } from './models/payment-return.js';
export { readPaymentReturn } from './models/payment-return.js';
export type { CreditTransferInitiation, InitiationTx, PaymentInfo } from './models/initiation.js';
export { readInitiation } from './models/initiation.js';
export type {
  Assignment,
  CancellationRequest,
  CancellationStatusTx,
  CancellationTx,
  CaseParty,
  InvestigationResolution,
} from './models/investigation.js';
export { readCancellationRequest, readResolution } from './models/investigation.js';
export type { StatusRequest, StatusRequestTx } from './models/status-request.js';
export { readStatusRequest } from './models/status-request.js';
export type { Balance, CashManagementReport, CashReport, Entry, EntryTx } from './models/statement.js';
export { readCashManagementReport } from './models/statement.js';
export type { ScaledDecimal } from './money.js';
export {
  compareDecimals,
  currencyExponent,
  fromMinorUnits,
  isKnownCurrency,
  parseDecimal,
  sumDecimals,
  toMinorUnits,
} from './money.js';
export type { BuiltMessage, TransactionAnswer } from './build/common.js';
export { toXml } from './build/common.js';
export type { ReasonInput } from './build/nodes.js';
export { answerVersion, buildVersion } from './build/versions.js';
export { allowsChild, sortBySchema, typeAt } from './build/order.js';
export type { CustomerStatusReportOptions, PaymentInfoAnswer, RequestedStatus, StatusReportOptions, StatusRequestAnswerOptions } from './build/status-report.js';
export { buildPacs002, buildPain002, buildStatusRequestAnswer } from './build/status-report.js';
export type { CancellationStatus, GroupCancellationStatus, ResolutionOptions } from './build/resolution.js';
export { buildCamt029, CANCELLATION_STATUSES, GROUP_CANCELLATION_STATUSES, isCancellationStatusReason } from './build/resolution.js';
export type { PaymentReturnOptions } from './build/payment-return.js';
export { buildPacs004 } from './build/payment-return.js';
export type { CreditTransferOptions } from './build/credit-transfer.js';
export { buildPacs008 } from './build/credit-transfer.js';
export type {
  CreditTransferGroupInput,
  CustomerCreditTransferInput,
  CustomerCreditTransferTxInput,
  InstitutionCreditTransferInput,
  InstitutionCreditTransferTxInput,
  UnderlyingTransferInput,
} from './build/transfer-input.js';
export { buildCustomerCreditTransfer, buildInstitutionCreditTransfer } from './build/transfer-input.js';
export { buildCustomerCreditTransferInitiation, type CustomerCreditTransferInitiationInput, type InitiationTxInput, type PaymentInfoInput } from './build/initiation.js';
export type { StatusRequestOptions } from './build/status-request.js';
export { buildPacs028 } from './build/status-request.js';
export type { CancellationRequestOptions } from './build/cancellation.js';
export { buildCamt056 } from './build/cancellation.js';
export * from './validation/index.js';
export type { AppHeaderOptions, BuiltHeader } from './build/header.js';
export { buildAnswerHeader, buildAppHeader, wrapMessage } from './build/header.js';
