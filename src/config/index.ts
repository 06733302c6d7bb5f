import { readFileSync } from 'node:fs';
import { Value } from '@sinclair/typebox/value';
import type { TSchema } from '@sinclair/typebox';
import { MxError } from '../errors.js';
import { ConfigSchema, configLeaves, type Config } from './schema.js';

export { ConfigSchema, configLeaves, type Config } from './schema.js';

export interface ConfigSources {
  /** Path of a JSON config file; MXGATE_CONFIG names one when this is absent. */
  file?: string | undefined;
  /** The process environment (only MXGATE_* keys are read). */
  env?: Record<string, string | undefined>;
  /** Values from command-line flags, as a partial config object. */
  overrides?: Record<string, unknown>;
}

type Plain = Record<string, unknown>;

function isPlain(value: unknown): value is Plain {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function merge(base: Plain, over: Plain): Plain {
  const out: Plain = { ...base };
  for (const [key, value] of Object.entries(over)) {
    if (value === undefined) continue;
    out[key] = isPlain(value) && isPlain(out[key]) ? merge(out[key] as Plain, value) : value;
  }
  return out;
}

function setPath(target: Plain, path: string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    if (!isPlain(node[key])) node[key] = {};
    node = node[key] as Plain;
  }
  node[path[path.length - 1]!] = value;
}

/** Variables of the command-line client (and MXGATE_CONFIG itself), not configuration keys of the hub. */
const CLIENT_VARIABLES = new Set(['MXGATE_CONFIG', 'MXGATE_URL', 'MXGATE_TOKEN', 'MXGATE_CLIENT_ID', 'MXGATE_CLIENT_SECRET']);

function fromEnvironment(env: Record<string, string | undefined>): Plain {
  const leaves = new Map(configLeaves().map((leaf) => [leaf.env, leaf]));
  const out: Plain = {};
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith('MXGATE_') || raw === undefined || CLIENT_VARIABLES.has(name)) continue;
    const leaf = leaves.get(name);
    if (!leaf) {
      throw new MxError('CONFIG_INVALID', `unknown environment variable ${name} (known: ${[...leaves.keys()].join(', ')})`);
    }
    setPath(out, leaf.path, convertScalar(leaf.schema, raw));
  }
  return out;
}

function convertScalar(schema: TSchema, raw: string): unknown {
  if (schema.type === 'integer' || schema.type === 'number') {
    return /^-?\d+(\.\d+)?$/.test(raw.trim()) ? Number(raw.trim()) : raw;
  }
  if (schema.type === 'array') {
    return raw.split(',').map((item) => item.trim()).filter((item) => item !== '');
  }
  if (schema.type === 'boolean') {
    if (raw === 'true' || raw === '1') return true;
    if (raw === 'false' || raw === '0') return false;
    return raw;
  }
  return raw;
}

function readFile(path: string): Plain {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new MxError('CONFIG_INVALID', `cannot read config file ${path}`, { cause });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw new MxError('CONFIG_INVALID', `config file ${path} is not valid JSON`, { cause });
  }
  if (!isPlain(parsed)) throw new MxError('CONFIG_INVALID', `config file ${path} must hold a JSON object`);
  return parsed;
}

function deepFreeze<T>(value: T): T {
  if (isPlain(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

/**
 * Reads the configuration once: defaults, then file, then environment, then flags. Returns a frozen object.
 * Throws CONFIG_INVALID listing every problem (unknown keys, wrong types, out-of-bounds values).
 */
export function loadConfig(sources: ConfigSources = {}): Config {
  const env = sources.env ?? {};
  const file = sources.file ?? env.MXGATE_CONFIG;
  let raw: Plain = {};
  if (file) raw = merge(raw, readFile(file));
  raw = merge(raw, fromEnvironment(env));
  raw = merge(raw, sources.overrides ?? {});

  const withDefaults = Value.Default(ConfigSchema, structuredClone(raw)) as Plain;
  const problems = [...Value.Errors(ConfigSchema, withDefaults)].map((e) => {
    const key = e.path.replace(/^\//, '').replaceAll('/', '.') || '(root)';
    return `${key}: ${e.message}`;
  });
  if (problems.length > 0) {
    throw new MxError('CONFIG_INVALID', `invalid configuration:\n  ${[...new Set(problems)].join('\n  ')}`);
  }
  const config = withDefaults as Config;
  // Cross-field rules the schema cannot say.
  if ((config.store === null) !== (config.queues === null)) {
    throw new MxError('CONFIG_INVALID', 'invalid configuration:\n  store and queues go together: set both (PostgreSQL + NATS JetStream) or neither (embedded)');
  }
  if (config.store !== null && config.backup.intervalS > 0) {
    throw new MxError('CONFIG_INVALID', "invalid configuration:\n  backup.intervalS is for the embedded engine: back PostgreSQL up with its own tools (pg_dump, continuous archiving)");
  }
  return deepFreeze(config);
}
