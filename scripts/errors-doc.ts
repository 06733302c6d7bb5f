/**
 * Writes docs/ERRORS.md from the error catalog (src/errors.ts), the one list of codes.
 * `npm run docs:errors`; a test fails when the committed file is out of date.
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ERROR_CATALOG } from '../src/errors.js';

export function renderErrorsDoc(): string {
  const rows = Object.entries(ERROR_CATALOG).map(
    ([code, e]) => `| \`${code}\` | ${e.status} | ${e.retryable ? 'yes' : 'no'} | ${e.summary.replaceAll('|', '\\|')} |`,
  );
  return [
    '# Error codes',
    '',
    'Every error the hub reports carries a stable code from this list; codes are never reused or renamed.',
    'HTTP answers have the shape `{"error": {"code": "...", "message": "..."}}`; a 500 also carries a',
    '`correlation_id` that finds the request in the logs. "Retryable" means the same request may succeed later',
    'unchanged; clients and the stage runner decide on retries from this flag alone.',
    '',
    'One exception: `POST /oauth2/token` answers errors in the OAuth 2.0 shape of RFC 6749 section 5.2,',
    '`{"error": "invalid_client", "error_description": "..."}`, as OAuth clients expect.',
    '',
    'This file is generated from `src/errors.ts` by `npm run docs:errors`.',
    '',
    '| code | HTTP status | retryable | meaning |',
    '| --- | --- | --- | --- |',
    ...rows,
    '',
  ].join('\n');
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  writeFileSync(resolve(import.meta.dirname, '..', 'docs', 'ERRORS.md'), renderErrorsDoc());
}
