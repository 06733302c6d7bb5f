/**
 * A SchemaSource reading a directory of XSD files: the message layer reads no files, so the CLI and the product
 * hand it this one. Schemas are found by their targetNamespace, not by file name, so a directory laid out any way
 * (one file per message, renamed files) works. The directory is indexed once, on the first request; an XSD text
 * is read when its namespace is first asked for (the validator compiles it once and keeps it).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MxError } from '../errors.js';
import type { SchemaSource } from '../iso20022/validation/index.js';

const TARGET_NAMESPACE = /targetNamespace\s*=\s*["']([^"']+)["']/;
// The targetNamespace sits on the xs:schema element, within the first few hundred bytes of an ISO schema.
const HEAD_BYTES = 8192;

export function directorySchemaSource(dir: string): SchemaSource {
  let index: Map<string, string> | undefined;
  return (namespace: string) => {
    index ??= indexDirectory(dir);
    const file = index.get(namespace);
    return file === undefined ? undefined : readFileSync(file, 'utf8');
  };
}

function indexDirectory(dir: string): Map<string, string> {
  let entries: string[];
  try {
    entries = readdirSync(dir).filter((name) => name.endsWith('.xsd')).sort();
  } catch (error) {
    throw new MxError('SCHEMA_UNAVAILABLE', `cannot read the schema directory ${dir}`, { cause: error });
  }
  const index = new Map<string, string>();
  for (const name of entries) {
    const file = join(dir, name);
    const head = readFileSync(file, 'utf8').slice(0, HEAD_BYTES);
    const namespace = TARGET_NAMESPACE.exec(head)?.[1];
    if (namespace !== undefined && !index.has(namespace)) index.set(namespace, file);
  }
  return index;
}
