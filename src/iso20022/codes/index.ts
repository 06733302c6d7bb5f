/**
 * The ISO 20022 external code sets the validator checks coded fields against. The values are data (one JSON file
 * per set, beside this file) so a new release of the code sets is a data change: replace the file's "codes" and
 * "version", nothing else. Each file holds { name, version, codes }.
 */
import accountIdentification from './account-identification.json' with { type: 'json' };
import cancellationReason from './cancellation-reason.json' with { type: 'json' };
import cashAccountType from './cash-account-type.json' with { type: 'json' };
import cashClearingSystem from './cash-clearing-system.json' with { type: 'json' };
import categoryPurpose from './category-purpose.json' with { type: 'json' };
import clearingSystemIdentification from './clearing-system-identification.json' with { type: 'json' };
import investigationExecutionConfirmation from './investigation-execution-confirmation.json' with { type: 'json' };
import localInstrument from './local-instrument.json' with { type: 'json' };
import organisationIdentification from './organisation-identification.json' with { type: 'json' };
import paymentCancellationRejection from './payment-cancellation-rejection.json' with { type: 'json' };
import paymentGroupStatus from './payment-group-status.json' with { type: 'json' };
import paymentTransactionStatus from './payment-transaction-status.json' with { type: 'json' };
import personIdentification from './person-identification.json' with { type: 'json' };
import proxyAccountType from './proxy-account-type.json' with { type: 'json' };
import purpose from './purpose.json' with { type: 'json' };
import returnReason from './return-reason.json' with { type: 'json' };
import serviceLevel from './service-level.json' with { type: 'json' };
import statusReason from './status-reason.json' with { type: 'json' };

interface CodeSetFile {
  readonly name: string;
  readonly version: string;
  readonly codes: readonly string[];
}

export interface CodeSet {
  /** The ISO 20022 name of the list, e.g. 'ExternalPurpose1Code'. */
  readonly name: string;
  /** Release of the external code sets the values come from. */
  readonly version: string;
  readonly codes: ReadonlySet<string>;
}

const FILES = {
  'account-identification': accountIdentification,
  'cancellation-reason': cancellationReason,
  'cash-account-type': cashAccountType,
  'cash-clearing-system': cashClearingSystem,
  'category-purpose': categoryPurpose,
  'clearing-system-identification': clearingSystemIdentification,
  'investigation-execution-confirmation': investigationExecutionConfirmation,
  'local-instrument': localInstrument,
  'organisation-identification': organisationIdentification,
  'payment-cancellation-rejection': paymentCancellationRejection,
  'payment-group-status': paymentGroupStatus,
  'payment-transaction-status': paymentTransactionStatus,
  'person-identification': personIdentification,
  'proxy-account-type': proxyAccountType,
  purpose,
  'return-reason': returnReason,
  'service-level': serviceLevel,
  'status-reason': statusReason,
} as const satisfies Record<string, CodeSetFile>;

export type CodeSetId = keyof typeof FILES;

function load(file: CodeSetFile): CodeSet {
  return Object.freeze({ name: file.name, version: file.version, codes: new Set(file.codes) });
}

export const CODE_SETS: Readonly<Record<CodeSetId, CodeSet>> = Object.freeze(
  Object.fromEntries(Object.entries(FILES).map(([id, file]) => [id, load(file)])) as Record<CodeSetId, CodeSet>,
);

export function isCodeSetId(value: string): value is CodeSetId {
  return Object.hasOwn(FILES, value);
}
