/**
 * Pluggable checks of the processing stage (sanctions, limits, cut-off calendar, ...). Each sees the parsed
 * submission and returns rejections with an official reason code: for one payment (by index), or for the whole
 * message (index null). Checks run in the configured order; every check runs, so a rejection names all causes.
 */
import type { Submission } from './submission.js';

export interface CheckContext {
  clientId: string;
  submission: Submission;
  /** Epoch ms, from the Clock port. */
  now: number;
}

export interface CheckRejection {
  /** The payment's position in the message, or null for the whole message. */
  index: number | null;
  /** ExternalStatusReason1Code, e.g. RR04 (regulatory), AM02 (amount above maximum), TM01 (after cut-off). */
  code: string;
  /** What the sender reads: in the status report (AddtlInf) and the API's reason_text. */
  text: string;
  /**
   * What only operators read, when the sender must not (a sanctions hit names the list entry: telling the sender
   * would tip them off). Kept in the transaction's audit trail and logged; never in a report or an API answer.
   */
  detail?: string;
  check: string;
}

export interface PaymentCheck {
  readonly name: string;
  run(context: CheckContext): CheckRejection[] | Promise<CheckRejection[]>;
}

export async function runChecks(checks: readonly PaymentCheck[], context: CheckContext): Promise<CheckRejection[]> {
  const out: CheckRejection[] = [];
  for (const check of checks) out.push(...(await check.run(context)));
  return out;
}
