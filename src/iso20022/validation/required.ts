/**
 * Elements each supported message cannot do without, as data. The XSD says the same and more; these rules make the
 * hub safe when no schema directory is configured, and name the missing element with CH21 (mandatory element
 * missing) so a rejection can carry it.
 *
 * `paths` are relative to the message element (the Document's only child); `each` lists, for a repeated block
 * found at a path, what every occurrence must hold. 'A|B' means one of A or B.
 */

export interface RequiredSpec {
  readonly paths: readonly string[];
  readonly each?: Readonly<Record<string, readonly string[]>>;
}

export const REQUIRED_ELEMENTS: Readonly<Record<string, RequiredSpec>> = {
  'pacs.008': {
    paths: ['GrpHdr/MsgId', 'GrpHdr/CreDtTm', 'GrpHdr/NbOfTxs', 'GrpHdr/SttlmInf/SttlmMtd', 'CdtTrfTxInf'],
    each: { CdtTrfTxInf: ['PmtId/EndToEndId', 'IntrBkSttlmAmt', 'ChrgBr', 'Dbtr', 'DbtrAgt', 'CdtrAgt', 'Cdtr'] },
  },
  'pacs.009': {
    paths: ['GrpHdr/MsgId', 'GrpHdr/CreDtTm', 'GrpHdr/NbOfTxs', 'GrpHdr/SttlmInf/SttlmMtd', 'CdtTrfTxInf'],
    each: { CdtTrfTxInf: ['PmtId/EndToEndId', 'IntrBkSttlmAmt', 'Dbtr', 'Cdtr'] },
  },
  'pacs.004': {
    paths: ['GrpHdr/MsgId', 'GrpHdr/CreDtTm', 'GrpHdr/NbOfTxs', 'GrpHdr/SttlmInf/SttlmMtd'],
    each: { TxInf: ['RtrdIntrBkSttlmAmt'] },
  },
  'pacs.002': { paths: ['GrpHdr/MsgId', 'GrpHdr/CreDtTm'] },
  'pacs.028': { paths: ['GrpHdr/MsgId', 'GrpHdr/CreDtTm'] },
  'pain.001': {
    paths: ['GrpHdr/MsgId', 'GrpHdr/CreDtTm', 'GrpHdr/NbOfTxs', 'GrpHdr/InitgPty', 'PmtInf'],
    each: {
      PmtInf: ['PmtInfId', 'PmtMtd', 'ReqdExctnDt', 'Dbtr', 'DbtrAcct', 'DbtrAgt', 'CdtTrfTxInf'],
      'PmtInf/CdtTrfTxInf': ['PmtId/EndToEndId', 'Amt'],
    },
  },
  'pain.002': { paths: ['GrpHdr/MsgId', 'GrpHdr/CreDtTm', 'OrgnlGrpInfAndSts/OrgnlMsgId', 'OrgnlGrpInfAndSts/OrgnlMsgNmId'] },
  'camt.056': { paths: ['Assgnmt/Id', 'Assgnmt/CreDtTm', 'Undrlyg'] },
  'camt.029': { paths: ['Assgnmt/Id', 'Assgnmt/CreDtTm', 'Sts'] },
  'camt.052': { paths: ['GrpHdr/MsgId', 'GrpHdr/CreDtTm', 'Rpt'], each: { Rpt: ['Id', 'Acct'] } },
  'camt.053': { paths: ['GrpHdr/MsgId', 'GrpHdr/CreDtTm', 'Stmt'], each: { Stmt: ['Id', 'Acct'] } },
  'camt.054': { paths: ['GrpHdr/MsgId', 'GrpHdr/CreDtTm', 'Ntfctn'], each: { Ntfctn: ['Id', 'Acct'] } },
  // The AppHdr is checked from itself, not from a message element.
  'head.001': { paths: ['Fr', 'To', 'BizMsgIdr', 'MsgDefIdr', 'CreDt'] },
};
