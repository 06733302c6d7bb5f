/**
 * Which version answers which. ISO 20022 releases messages together (maintenance releases); an answer is built in
 * the version of the same release as the message it answers, so both sides speak the same generation.
 * Each row is one release: family -> version. Releases are listed oldest first.
 */
import { MxError } from '../../errors.js';
import { SUPPORTED_MESSAGES, isBuildable, isSupportedFamily, parseMessageId, type MessageId } from '../identify.js';

const RELEASES: ReadonlyArray<Readonly<Record<string, string>>> = [
  { 'pain.001': '001.03', 'pain.002': '001.03' },
  {
    'pacs.008': '001.08', 'pacs.002': '001.10', 'pacs.004': '001.09', 'pacs.009': '001.08', 'pacs.028': '001.03',
    'camt.056': '001.08', 'camt.029': '001.09', 'pain.001': '001.09', 'pain.002': '001.10',
  },
  // pacs.004.001.10 came between the 2019 and 2021 releases and is answered with the 2019 status report.
  { 'pacs.004': '001.10', 'pacs.002': '001.10' },
  {
    'pacs.008': '001.10', 'pacs.002': '001.12', 'pacs.004': '001.11', 'pacs.009': '001.10', 'pacs.028': '001.05',
    'camt.056': '001.10', 'camt.029': '001.11', 'pain.001': '001.11', 'pain.002': '001.12',
  },
  {
    'pacs.008': '001.12', 'pacs.002': '001.14', 'pacs.004': '001.13', 'pacs.009': '001.11', 'pacs.028': '001.06',
    'camt.056': '001.11', 'camt.029': '001.13', 'pain.001': '001.12', 'pain.002': '001.14',
  },
  { 'pacs.008': '001.13', 'pacs.002': '001.15' },
];

/**
 * The version of `family` that answers `original`: the one of the same release, else of the nearest older release
 * that has the family, else the oldest one. `configured` (a version such as '001.12') wins when given.
 */
export function answerVersion(original: MessageId, family: string, configured?: string): MessageId {
  const pick = (version: string): MessageId => {
    const id = parseMessageId(`${family}.${version}`);
    if (id === undefined || !isBuildable(id)) {
      throw new MxError('MESSAGE_UNSUPPORTED', `${family}.${version} is not a message version the hub builds`);
    }
    return id;
  };
  if (configured !== undefined) return pick(configured);
  const at = RELEASES.findIndex((r) => r[original.family] === original.version);
  for (let i = at; i >= 0; i--) {
    const v = RELEASES[i]![family];
    if (v !== undefined) return pick(v);
  }
  const first = RELEASES.find((r) => r[family] !== undefined);
  if (first === undefined) throw new MxError('MESSAGE_UNSUPPORTED', `the hub builds no ${family}`);
  return pick(first[family]!);
}

/**
 * The version to build a message in when it answers nothing (a builder fed a typed input): `configured` when given,
 * else the newest version of the family the hub builds.
 */
export function buildVersion(family: string, configured?: string): MessageId {
  const versions = isSupportedFamily(family) ? (SUPPORTED_MESSAGES[family].versions as readonly string[]) : [];
  const version = configured ?? versions[versions.length - 1];
  const id = version === undefined ? undefined : parseMessageId(`${family}.${version}`);
  if (id === undefined || !isBuildable(id)) {
    throw new MxError('MESSAGE_UNSUPPORTED', `${family}${version === undefined ? '' : `.${version}`} is not a message version the hub builds`);
  }
  return id;
}
