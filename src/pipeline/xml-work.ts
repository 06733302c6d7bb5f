/**
 * The XML work of a payment that needs nothing but the message: reading a submission with its built-in and
 * profile findings, and building a status report from the original. Pure functions, run on the event loop or on
 * the worker threads of `XmlPool` (xml-pool.ts, xml-worker.ts), which call the same code.
 */
import { detectProfile, getProfile, parseMessage, validateBuiltin, validateProfile, type Finding, type SplitMessage } from '../iso20022/index.js';
import { buildReport, type Outcome } from './report.js';
import type { SubmissionData } from './submission.js';

/** Built-in rules, then the profile's: the client's profile, else the one the message declares, if any. */
export function builtinAndProfileFindings(message: SplitMessage, clientProfile: string | null): Finding[] {
  const findings = validateBuiltin(message);
  const profileId = clientProfile ?? detectProfile(message);
  const profile = profileId ? getProfile(profileId) : undefined;
  if (profile) findings.push(...validateProfile(message, profile));
  return findings;
}

/** A submission without its tree, with the findings of a payment message (an answer is not validated here). */
export function withFindings(data: SubmissionData, message: SplitMessage, clientProfile: string | null): SubmissionData {
  if (data.role !== 'payment') return data;
  return { ...data, findings: { clientProfile, findings: builtinAndProfileFindings(message, clientProfile) } };
}

export interface ReportIds {
  msgId: string;
  now: number;
}

/** The status report of `outcome`, built from the original message's XML. */
export function reportFromXml(xml: string, outcome: Outcome, ids: ReportIds): { messageType: string; xml: string } {
  return buildReport(parseMessage(xml), outcome, ids);
}
