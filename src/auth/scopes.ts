/**
 * Scopes of the API. They are independent: mx/admin does not imply mx/read or mx/write, so a client holds
 * exactly what it was given (the bootstrap client gets all three).
 *
 * | scope    | grants                                                                |
 * | -------- | --------------------------------------------------------------------- |
 * | mx/read  | GET of the caller's own resources (queues, transactions, messages)    |
 * | mx/write | submitting and consuming: send, receive, delete, change visibility    |
 * | mx/admin | managing the hub: queues, clients, signing keys                       |
 */
import { MxError } from '../errors.js';
import { SCOPES, type Scope } from '../ports/auth.js';

export { SCOPES, type Scope } from '../ports/auth.js';

/** What a route requires: one scope, or 'public' for the few routes open without a token. */
export type RouteScope = Scope | 'public';

export function isScope(value: string): value is Scope {
  return (SCOPES as readonly string[]).includes(value);
}

/** Splits a space-separated scope string into distinct words, in the canonical order of SCOPES for known ones. */
export function scopeWords(value: string): string[] {
  return [...new Set(value.split(' ').filter((w) => w !== ''))];
}

/** Canonical order, no duplicates. */
export function normalizeScopes(scopes: Iterable<Scope>): Scope[] {
  const set = new Set(scopes);
  return SCOPES.filter((s) => set.has(s));
}

/** Parses the scopes an operator gives a client (space- or comma-separated); throws INVALID_ATTRIBUTE. */
export function parseClientScopes(value: string | readonly string[]): Scope[] {
  const words = typeof value === 'string' ? value.split(/[\s,]+/).filter((w) => w !== '') : [...value];
  const unknown = words.filter((w) => !isScope(w));
  if (unknown.length > 0) throw new MxError('INVALID_ATTRIBUTE', `unknown scope ${unknown.join(', ')} (known: ${SCOPES.join(', ')})`);
  if (words.length === 0) throw new MxError('INVALID_ATTRIBUTE', `a client needs at least one scope (${SCOPES.join(', ')})`);
  return normalizeScopes(words as Scope[]);
}
