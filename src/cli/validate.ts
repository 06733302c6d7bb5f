/**
 * `mxgate validate FILE... [--schemas DIR] [--profile cbpr+|fednow|auto] [--json]`
 *
 * Validates message files with the same validator the processing stage uses. Prints one line per valid file, or
 * one line per error (ISO reason code, rule, element path and line); with --json one JSON object per file.
 * Exit status 1 when any file is invalid or cannot be read.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { isMxError } from '../errors.js';
import { MessageValidator, type Finding, type ValidationReport } from '../iso20022/validation/index.js';
import { directorySchemaSource } from './schema-directory.js';

interface ValidateCliOptions {
  schemas?: string;
  profile?: string;
  json?: boolean;
  warnings?: boolean;
}

interface FileOutcome {
  file: string;
  valid: boolean;
  profile?: string;
  findings?: readonly Finding[];
  error?: { code: string; message: string };
}

export function register(program: Command): void {
  program
    .command('validate')
    .description('validate ISO 20022 message files (XSD, built-in rules, scheme profile)')
    .argument('<files...>', 'message files')
    .option('--schemas <dir>', 'directory of ISO 20022 XSDs (schema layer skipped without it)')
    .option('--profile <id>', 'scheme profile: cbpr+, fednow, or auto (the one the message declares)')
    .option('--json', 'one JSON object per file')
    .option('--warnings', 'also print warnings')
    .action((files: string[], opts: ValidateCliOptions) => {
      const ok = runValidate(files, opts, (line) => process.stdout.write(`${line}\n`));
      if (!ok) process.exitCode = 1;
    });
}

/** Validates the files, writes the report lines, and says whether every file was valid. */
export function runValidate(files: readonly string[], opts: ValidateCliOptions, write: (line: string) => void): boolean {
  const validator = new MessageValidator(opts.schemas === undefined ? {} : { schemas: directorySchemaSource(opts.schemas) });
  try {
    let allValid = true;
    for (const file of files) {
      const outcome = validateFile(validator, file, opts.profile);
      if (!outcome.valid) allValid = false;
      for (const line of render(outcome, opts)) write(line);
    }
    return allValid;
  } finally {
    validator.dispose();
  }
}

function validateFile(validator: MessageValidator, file: string, profile: string | undefined): FileOutcome {
  try {
    const report: ValidationReport = validator.validate(readFileSync(file), profile === undefined ? {} : { profile });
    return { file, valid: report.valid, findings: report.findings, ...(report.profile === undefined ? {} : { profile: report.profile }) };
  } catch (error) {
    if (isMxError(error)) return { file, valid: false, error: { code: error.code, message: error.message } };
    if (error instanceof Error && 'code' in error && typeof error.code === 'string' && error.code.startsWith('E')) {
      return { file, valid: false, error: { code: 'FILE_UNREADABLE', message: error.message } };
    }
    throw error;
  }
}

function render(outcome: FileOutcome, opts: ValidateCliOptions): string[] {
  if (opts.json === true) return [JSON.stringify(outcome)];
  if (outcome.error !== undefined) return [`${outcome.file}: ${outcome.error.code} ${outcome.error.message}`];
  const findings = outcome.findings ?? [];
  const shown = findings.filter((f) => f.severity === 'error' || opts.warnings === true);
  const lines = shown.map((f) => `${outcome.file}: ${f.severity === 'warning' ? 'warning ' : ''}${f.code} ${f.rule} ${f.path}${f.line === undefined ? '' : `:${f.line}`} ${f.message}`);
  if (outcome.valid) {
    const warnings = findings.length - findings.filter((f) => f.severity === 'error').length;
    lines.unshift(`${outcome.file}: valid${outcome.profile === undefined ? '' : ` (${outcome.profile})`}${warnings > 0 ? `, ${warnings} warning(s)` : ''}`);
  }
  return lines;
}
