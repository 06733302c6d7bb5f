/**
 * Small pacs.008 and pain.001 messages for the check tests, built from a few fields (escaped), read back through
 * the same `readSubmission` the workflow uses.
 */
import { escapeText } from '../../../src/iso20022/index.js';
import { readSubmission, type Submission } from '../../../src/pipeline/submission.js';
import type { CheckContext } from '../../../src/pipeline/checks.js';

export interface PartyInput {
  name?: string;
  country?: string;
  anyBic?: string;
  lei?: string;
  otherId?: string;
}

export interface TxInput {
  amount?: string;
  currency?: string;
  settlementDate?: string;
  debtor?: PartyInput;
  creditor?: PartyInput;
  ultimateDebtor?: PartyInput;
  ultimateCreditor?: PartyInput;
  debtorIban?: string;
  creditorAccount?: string;
  debtorAgentBic?: string;
  creditorAgentBic?: string;
}

const e = (s: string) => escapeText(s);

function party(tag: string, p: PartyInput | undefined): string {
  if (p === undefined) return '';
  const org = [p.anyBic && `<AnyBIC>${e(p.anyBic)}</AnyBIC>`, p.lei && `<LEI>${e(p.lei)}</LEI>`, p.otherId && `<Othr><Id>${e(p.otherId)}</Id></Othr>`]
    .filter(Boolean)
    .join('');
  return (
    `<${tag}>` +
    (p.name ? `<Nm>${e(p.name)}</Nm>` : '') +
    (p.country ? `<PstlAdr><Ctry>${e(p.country)}</Ctry></PstlAdr>` : '') +
    (org ? `<Id><OrgId>${org}</OrgId></Id>` : '') +
    `</${tag}>`
  );
}

const agent = (tag: string, bic: string) => `<${tag}><FinInstnId><BICFI>${e(bic)}</BICFI></FinInstnId></${tag}>`;

export function pacs008(txs: TxInput[], options: { groupSettlementDate?: string; instructingAgentBic?: string } = {}): string {
  const body = txs
    .map((tx, i) =>
      [
        '<CdtTrfTxInf>',
        `<PmtId><EndToEndId>E2E-${i}</EndToEndId><TxId>TX-${i}</TxId></PmtId>`,
        `<IntrBkSttlmAmt Ccy="${tx.currency ?? 'EUR'}">${tx.amount ?? '100.00'}</IntrBkSttlmAmt>`,
        tx.settlementDate ? `<IntrBkSttlmDt>${tx.settlementDate}</IntrBkSttlmDt>` : '',
        '<ChrgBr>SLEV</ChrgBr>',
        party('UltmtDbtr', tx.ultimateDebtor),
        party('Dbtr', tx.debtor ?? { name: 'Debtor Company' }),
        `<DbtrAcct><Id><IBAN>${e(tx.debtorIban ?? 'DE89370400440532013000')}</IBAN></Id></DbtrAcct>`,
        agent('DbtrAgt', tx.debtorAgentBic ?? 'COBADEFFXXX'),
        agent('CdtrAgt', tx.creditorAgentBic ?? 'BNPAFRPP'),
        party('Cdtr', tx.creditor ?? { name: 'Creditor Company' }),
        tx.creditorAccount ? `<CdtrAcct><Id><Othr><Id>${e(tx.creditorAccount)}</Id></Othr></Id></CdtrAcct>` : '',
        party('UltmtCdtr', tx.ultimateCreditor),
        '</CdtTrfTxInf>',
      ].join(''),
    )
    .join('');
  return (
    '<?xml version="1.0" encoding="UTF-8"?>' +
    '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pacs.008.001.08"><FIToFICstmrCdtTrf><GrpHdr>' +
    `<MsgId>MSG-1</MsgId><CreDtTm>2026-01-05T09:00:00Z</CreDtTm><NbOfTxs>${txs.length}</NbOfTxs>` +
    (options.groupSettlementDate ? `<IntrBkSttlmDt>${options.groupSettlementDate}</IntrBkSttlmDt>` : '') +
    '<SttlmInf><SttlmMtd>CLRG</SttlmMtd></SttlmInf>' +
    (options.instructingAgentBic ? agent('InstgAgt', options.instructingAgentBic) : '') +
    `</GrpHdr>${body}</FIToFICstmrCdtTrf></Document>`
  );
}

/** A pain.001.001.09 with one payment information block per entry: its execution date and its transactions. */
export function pain001(blocks: Array<{ executionDate?: string; debtorName?: string; txs: TxInput[] }>): string {
  const infos = blocks
    .map((b, bi) =>
      [
        `<PmtInf><PmtInfId>PI-${bi}</PmtInfId><PmtMtd>TRF</PmtMtd>`,
        b.executionDate ? `<ReqdExctnDt><Dt>${b.executionDate}</Dt></ReqdExctnDt>` : '',
        `<Dbtr><Nm>${e(b.debtorName ?? 'Debtor Company')}</Nm></Dbtr>`,
        '<DbtrAcct><Id><IBAN>DE89370400440532013000</IBAN></Id></DbtrAcct>',
        agent('DbtrAgt', 'COBADEFFXXX'),
        ...b.txs.map(
          (tx, i) =>
            `<CdtTrfTxInf><PmtId><EndToEndId>E2E-${bi}-${i}</EndToEndId></PmtId>` +
            `<Amt><InstdAmt Ccy="${tx.currency ?? 'EUR'}">${tx.amount ?? '100.00'}</InstdAmt></Amt>` +
            party('Cdtr', tx.creditor ?? { name: 'Creditor Company' }) +
            '</CdtTrfTxInf>',
        ),
        '</PmtInf>',
      ].join(''),
    )
    .join('');
  const n = blocks.reduce((s, b) => s + b.txs.length, 0);
  return (
    '<?xml version="1.0" encoding="UTF-8"?>' +
    '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"><CstmrCdtTrfInitn><GrpHdr>' +
    `<MsgId>PAIN-1</MsgId><CreDtTm>2026-01-05T09:00:00Z</CreDtTm><NbOfTxs>${n}</NbOfTxs><InitgPty><Nm>Initiator</Nm></InitgPty>` +
    `</GrpHdr>${infos}</CstmrCdtTrfInitn></Document>`
  );
}

export function context(xml: string, options: { clientId?: string; now?: number } = {}): CheckContext {
  const submission: Submission = readSubmission(xml);
  return { clientId: options.clientId ?? 'bank-a', submission, now: options.now ?? Date.UTC(2026, 0, 5, 9, 0, 0) };
}
