/**
 * Turns profile data (JSON, or objects a caller builds) into a compiled profile: every field checked, every
 * pattern and path compiled once, so a broken profile fails at start-up with a clear message and never while a
 * payment is being validated.
 */
import { MxError } from '../../errors.js';
import { compilePath, type CompiledPath } from './select.js';
import type { Condition, Profile, ProfileRule, RuleScope } from './types.js';

export type CompiledRule =
  | { readonly kind: 'required'; readonly base: RuleBase; readonly paths: readonly (CompiledPath | '$header')[]; readonly each?: CompiledPath; readonly when?: CompiledCondition }
  | { readonly kind: 'forbidden'; readonly base: RuleBase; readonly path: CompiledPath }
  | { readonly kind: 'pattern'; readonly base: RuleBase; readonly path: CompiledPath; readonly pattern: RegExp }
  | { readonly kind: 'allowed'; readonly base: RuleBase; readonly path: CompiledPath; readonly values: ReadonlySet<string>; readonly any: boolean }
  | { readonly kind: 'disallowed'; readonly base: RuleBase; readonly path: CompiledPath; readonly values: ReadonlySet<string> }
  | { readonly kind: 'equals'; readonly base: RuleBase; readonly path: CompiledPath; readonly other: CompiledPath | '$documentId' }
  | { readonly kind: 'checksum'; readonly base: RuleBase; readonly path: CompiledPath; readonly algorithm: 'aba'; readonly exempt: ReadonlySet<string> }
  | { readonly kind: 'wrapper'; readonly base: RuleBase; readonly wrappers: ReadonlyMap<string, string> };

export interface RuleBase {
  readonly id: string;
  readonly families: ReadonlySet<string>;
  readonly code: string;
  readonly message: string;
  readonly scope: RuleScope;
}

export interface CompiledCondition {
  readonly path: CompiledPath;
  readonly values: ReadonlySet<string>;
}

export interface CompiledProfile {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  readonly rules: readonly CompiledRule[];
}

const REASON_CODE = /^[A-Z0-9]{4}$/;

function invalid(profile: string, message: string): MxError {
  return new MxError('CONFIG_INVALID', `profile ${profile}: ${message}`);
}

function strings(value: unknown, what: string, profile: string): string[] {
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) throw invalid(profile, `${what} must be a list of strings`);
  return value as string[];
}

function text(value: unknown, what: string, profile: string): string {
  if (typeof value !== 'string' || value === '') throw invalid(profile, `${what} must be a non-empty string`);
  return value;
}

function path(value: unknown, what: string, profile: string): CompiledPath {
  try {
    return compilePath(text(value, what, profile));
  } catch (error) {
    if (error instanceof MxError) throw error;
    throw invalid(profile, `${what}: ${(error as Error).message}`);
  }
}

function regex(source: string, profile: string, rule: string): RegExp {
  try {
    return new RegExp(source);
  } catch (error) {
    throw invalid(profile, `rule ${rule}: bad pattern (${(error as Error).message})`);
  }
}

function condition(value: unknown, profile: string, rule: string): CompiledCondition {
  const c = value as Partial<Condition> | null;
  if (typeof c !== 'object' || c === null) throw invalid(profile, `rule ${rule}: when must be an object`);
  return { path: path(c.path, `rule ${rule} when.path`, profile), values: new Set(strings(c.values, `rule ${rule} when.values`, profile)) };
}

function compileRule(raw: ProfileRule, profile: string): CompiledRule {
  const r = raw as unknown as Record<string, unknown>;
  const id = text(r.id, 'a rule id', profile);
  const code = text(r.code, `rule ${id} code`, profile);
  if (!REASON_CODE.test(code)) throw invalid(profile, `rule ${id}: code ${code} is not an ISO reason code`);
  const scope = r.scope ?? 'document';
  if (scope !== 'document' && scope !== 'header') throw invalid(profile, `rule ${id}: scope must be document or header`);
  const base: RuleBase = {
    id, code, scope, message: text(r.message, `rule ${id} message`, profile),
    families: new Set(strings(r.families, `rule ${id} families`, profile)),
  };
  const at = (key: string): CompiledPath => path(r[key], `rule ${id} ${key}`, profile);
  switch (r.kind) {
    case 'required':
      return {
        kind: 'required', base,
        paths: strings(r.paths, `rule ${id} paths`, profile).map((p) => (p === '$header' ? p : path(p, `rule ${id} paths`, profile))),
        ...(r.each === undefined ? {} : { each: at('each') }),
        ...(r.when === undefined ? {} : { when: condition(r.when, profile, id) }),
      };
    case 'forbidden':
      return { kind: 'forbidden', base, path: at('path') };
    case 'pattern':
      return { kind: 'pattern', base, path: at('path'), pattern: regex(text(r.pattern, `rule ${id} pattern`, profile), profile, id) };
    case 'allowed':
      return { kind: 'allowed', base, path: at('path'), values: new Set(strings(r.values, `rule ${id} values`, profile)), any: r.mode === 'any' };
    case 'disallowed':
      return { kind: 'disallowed', base, path: at('path'), values: new Set(strings(r.values, `rule ${id} values`, profile)) };
    case 'equals':
      return { kind: 'equals', base, path: at('path'), other: r.other === '$documentId' ? '$documentId' : at('other') };
    case 'checksum':
      if (r.algorithm !== 'aba') throw invalid(profile, `rule ${id}: unknown checksum algorithm ${String(r.algorithm)}`);
      return { kind: 'checksum', base, path: at('path'), algorithm: 'aba', exempt: new Set(r.exempt === undefined ? [] : strings(r.exempt, `rule ${id} exempt`, profile)) };
    case 'wrapper': {
      const wrappers = r.wrappers;
      if (typeof wrappers !== 'object' || wrappers === null) throw invalid(profile, `rule ${id}: wrappers must be an object`);
      return { kind: 'wrapper', base, wrappers: new Map(Object.entries(wrappers as Record<string, string>)) };
    }
    default:
      throw invalid(profile, `rule ${id}: unknown kind ${String(r.kind)}`);
  }
}

/** Checks and compiles a profile. Throws CONFIG_INVALID naming the first problem. */
export function compileProfile(data: unknown): CompiledProfile {
  const p = data as Partial<Profile> | null;
  if (typeof p !== 'object' || p === null) throw new MxError('CONFIG_INVALID', 'a profile must be an object');
  const id = text(p.id, 'the profile id', '(unnamed)');
  if (!Array.isArray(p.rules)) throw invalid(id, 'rules must be a list');
  return Object.freeze({
    id,
    name: text(p.name, 'name', id),
    description: text(p.description, 'description', id),
    rules: Object.freeze(p.rules.map((rule) => compileRule(rule, id))),
  });
}
