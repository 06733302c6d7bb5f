/**
 * `mxgate inspect FILE [--json]`
 *
 * Shows what a message is and what it says: type and version (from the Document namespace), the wrapper, the
 * business application header, structural findings (such as a header naming another message), and the typed view
 * of the Document: ids, amounts, parties, statuses. Readable text by default, one JSON object with --json.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { parseMessage, readModel, type SplitMessage } from '../iso20022/index.js';

export interface Inspection {
  file: string;
  message: string;
  family: string;
  version: string;
  wrapper: string[];
  header?: unknown;
  headerId?: string;
  findings: SplitMessage['findings'];
  model?: unknown;
}

export function inspectBytes(file: string, bytes: Uint8Array): Inspection {
  const msg = parseMessage(bytes);
  const out: Inspection = {
    file,
    message: msg.id.id,
    family: msg.id.family,
    version: msg.id.version,
    wrapper: msg.wrapperPath,
    findings: msg.findings,
  };
  if (msg.headerId !== undefined) out.headerId = msg.headerId.id;
  if (msg.header !== undefined) out.header = msg.header;
  if (msg.document !== undefined) {
    // The id already sits at the top; repeating it inside the view adds nothing for a reader.
    const { id: _id, family: _family, ...model } = readModel(msg);
    out.model = model;
  }
  return out;
}

/** Indented "key: value" lines; arrays are numbered from 1 like the transactions they list. */
export function formatInspection(i: Inspection): string {
  const lines = [`${i.file}`, `  message: ${i.message} (${i.family}, version ${i.version})`];
  if (i.wrapper.length > 0) lines.push(`  wrapper: ${i.wrapper.join(' > ')}`);
  for (const f of i.findings) lines.push(`  finding: ${f.code}: ${f.message}`);
  if (i.header !== undefined) {
    lines.push(`  header (${i.headerId}):`);
    writeValue(i.header, 4, lines);
  }
  if (i.model !== undefined) {
    lines.push('  document:');
    writeValue(i.model, 4, lines);
  }
  return lines.join('\n');
}

function writeValue(value: unknown, indent: number, lines: string[]): void {
  const pad = ' '.repeat(indent);
  if (Array.isArray(value)) {
    value.forEach((v, k) => {
      if (isScalar(v)) lines.push(`${pad}${k + 1}. ${String(v)}`);
      else {
        lines.push(`${pad}${k + 1}.`);
        writeValue(v, indent + 2, lines);
      }
    });
    return;
  }
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    if (Array.isArray(v) && v.length === 0) continue;
    if (isAmount(v)) lines.push(`${pad}${key}: ${v.value} ${v.currency}`);
    else if (isScalar(v)) lines.push(`${pad}${key}: ${String(v)}`);
    else {
      lines.push(`${pad}${key}:`);
      writeValue(v, indent + 2, lines);
    }
  }
}

function isScalar(v: unknown): boolean {
  return v === null || typeof v !== 'object';
}

function isAmount(v: unknown): v is { value: string; currency: string } {
  return typeof v === 'object' && v !== null && Object.keys(v).length === 2 && 'value' in v && 'currency' in v;
}

export function register(program: Command): void {
  program
    .command('inspect')
    .description('show the type, version, header, ids, amounts and parties of an ISO 20022 message file')
    .argument('<file>', 'message file')
    .option('--json', 'print one JSON object')
    .action((file: string, opts: { json?: boolean }) => {
      const inspection = inspectBytes(file, readFileSync(file));
      process.stdout.write(`${opts.json === true ? JSON.stringify(inspection, null, 2) : formatInspection(inspection)}\n`);
    });
}
