/**
 * Which message a namespace names. The type and version of a message come from the namespace of its Document
 * (urn:iso:std:iso:20022:tech:xsd:<id>), never from a file name or a header.
 */

export const ISO_NS_PREFIX = 'urn:iso:std:iso:20022:tech:xsd:';

export interface MessageId {
  /** The full message identifier, for example 'pacs.008.001.08'. */
  readonly id: string;
  /** Business area and message number, for example 'pacs.008'. */
  readonly family: string;
  /** Variant and version, for example '001.08'. */
  readonly version: string;
}

/** What the hub does with each family, and in which versions (Document namespaces). */
export const SUPPORTED_MESSAGES = {
  'pacs.008': { versions: ['001.08', '001.10', '001.12', '001.13'], build: true },
  'pacs.002': { versions: ['001.10', '001.12', '001.14', '001.15'], build: true },
  'pacs.004': { versions: ['001.09', '001.10', '001.11', '001.13'], build: true },
  'pacs.009': { versions: ['001.08', '001.10', '001.11'], build: true },
  'pacs.028': { versions: ['001.03', '001.05', '001.06'], build: true },
  'camt.056': { versions: ['001.08', '001.10', '001.11'], build: true },
  'camt.029': { versions: ['001.09', '001.11', '001.13'], build: true },
  'pain.001': { versions: ['001.03', '001.09', '001.11', '001.12'], build: true },
  'pain.002': { versions: ['001.03', '001.10', '001.12', '001.14'], build: true },
  'camt.052': { versions: ['001.08'], build: false },
  'camt.053': { versions: ['001.02', '001.04', '001.08', '001.12'], build: false },
  'camt.054': { versions: ['001.02', '001.04', '001.08', '001.12'], build: false },
  'head.001': { versions: ['001.01', '001.02', '001.03', '001.04'], build: true },
} as const satisfies Record<string, { versions: readonly string[]; build: boolean }>;

export type SupportedFamily = keyof typeof SUPPORTED_MESSAGES;

const ID_PATTERN = /^([a-z]{4}\.\d{3})\.(\d{3}\.\d{2})$/;

/** Splits a message identifier ('pacs.008.001.08'); undefined when it is not one. */
export function parseMessageId(id: string): MessageId | undefined {
  const m = ID_PATTERN.exec(id);
  if (m === null) return undefined;
  return { id, family: m[1]!, version: m[2]! };
}

/** The message an ISO 20022 namespace names; undefined for any other namespace. */
export function identifyNamespace(ns: string): MessageId | undefined {
  if (!ns.startsWith(ISO_NS_PREFIX)) return undefined;
  return parseMessageId(ns.slice(ISO_NS_PREFIX.length));
}

/** The namespace of a message identifier. */
export function namespaceOf(id: string | MessageId): string {
  return ISO_NS_PREFIX + (typeof id === 'string' ? id : id.id);
}

export function isSupportedFamily(family: string): family is SupportedFamily {
  return Object.hasOwn(SUPPORTED_MESSAGES, family);
}

/** Whether the hub reads this message version. */
export function isSupported(id: MessageId): boolean {
  if (!isSupportedFamily(id.family)) return false;
  return (SUPPORTED_MESSAGES[id.family].versions as readonly string[]).includes(id.version);
}

/** Whether the hub writes this message version. */
export function isBuildable(id: MessageId): boolean {
  return isSupported(id) && SUPPORTED_MESSAGES[id.family as SupportedFamily].build;
}
