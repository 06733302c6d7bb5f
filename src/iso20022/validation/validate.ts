/**
 * The validation pipeline in one call, layer by layer:
 *   1. safety: the secure parser (xml/parse.ts) refuses unsafe or malformed input by throwing a coded MxError;
 *   2. schema: each ISO part against its XSD, when a schema source is configured;
 *   3. built-in rules (builtin.ts);
 *   4. a scheme profile, when one is asked for ('auto' uses the one the message declares, if any).
 * Every layer runs even when an earlier one found problems, so a rejection can name all of them; the report's
 * `valid` is false as soon as any finding is an error.
 *
 * The validator owns compiled schemas (WebAssembly memory): call dispose() when done with it.
 */
import { MxError } from '../../errors.js';
import { parseMessage, type SplitMessage } from '../message.js';
import { detectProfile, getProfile } from '../profiles/index.js';
import { validateProfile } from '../profiles/engine.js';
import type { CompiledProfile } from '../profiles/load.js';
import type { XmlParseOptions } from '../xml/parse.js';
import { validateBuiltin } from './builtin.js';
import type { Finding } from './types.js';
import { SchemaValidator, type SchemaSource } from './xsd.js';

export interface MessageValidatorOptions {
  /** Where XSDs come from; without it the schema layer is skipped (built-in rules still apply). */
  readonly schemas?: SchemaSource;
  /** Limits for the secure parser. */
  readonly xml?: XmlParseOptions;
  /** Most findings reported per layer. */
  readonly findingsMax?: number;
}

export interface ValidateOptions {
  /** A shipped profile id ('cbpr+', 'fednow'), a compiled profile, 'auto', or none. */
  readonly profile?: string | CompiledProfile;
}

export interface ValidationReport {
  readonly valid: boolean;
  readonly findings: readonly Finding[];
  /** The parsed message, so callers do not parse it again. */
  readonly message: SplitMessage;
  /** The profile applied, if any. */
  readonly profile?: string;
}

export class MessageValidator {
  readonly #schemas: SchemaValidator | undefined;
  readonly #xml: XmlParseOptions | undefined;
  readonly #findingsMax: number | undefined;

  constructor(options: MessageValidatorOptions = {}) {
    this.#schemas = options.schemas === undefined ? undefined
      : new SchemaValidator({ source: options.schemas, ...(options.findingsMax === undefined ? {} : { findingsMax: options.findingsMax }) });
    this.#xml = options.xml;
    this.#findingsMax = options.findingsMax;
  }

  /**
   * Validates raw input. Throws MxError for input that cannot be validated (XML_UNSAFE, XML_MALFORMED,
   * XML_LIMIT_EXCEEDED, MESSAGE_UNSUPPORTED, SCHEMA_UNAVAILABLE, or CONFIG_INVALID for an unknown profile id);
   * everything else is a finding.
   */
  validate(input: string | Uint8Array, options: ValidateOptions = {}): ValidationReport {
    const profile = options.profile === undefined || typeof options.profile !== 'string' ? options.profile
      : options.profile === 'auto' ? undefined : requireProfile(options.profile);
    const message = parseMessage(input, this.#xml);
    const findings: Finding[] = [];
    if (this.#schemas !== undefined) findings.push(...this.#schemas.validate(input));
    findings.push(...validateBuiltin(message, this.#findingsMax === undefined ? undefined : { findingsMax: this.#findingsMax }));
    const applied = profile ?? (options.profile === 'auto' ? autoProfile(message) : undefined);
    if (applied !== undefined) findings.push(...validateProfile(message, applied));
    return {
      valid: !findings.some((f) => f.severity === 'error'),
      findings,
      message,
      ...(applied === undefined ? {} : { profile: applied.id }),
    };
  }

  dispose(): void {
    this.#schemas?.dispose();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}

function requireProfile(id: string): CompiledProfile {
  const profile = getProfile(id);
  if (profile === undefined) throw new MxError('CONFIG_INVALID', `unknown profile "${id}"`, { details: { profile: id } });
  return profile;
}

function autoProfile(message: SplitMessage): CompiledProfile | undefined {
  const id = detectProfile(message);
  return id === undefined ? undefined : getProfile(id);
}
