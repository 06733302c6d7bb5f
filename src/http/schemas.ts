/**
 * Schemas shared by the routes: the one error shape and the error answers of a route, nullable values, headers. A route's
 * response schemas serialize its answers (fastify drops properties a schema does not name) and describe them in
 * the OpenAPI document (src/http/openapi.ts), so a schema lists every field its answer carries.
 */
import { Type, type TSchema, type TUnsafe } from '@sinclair/typebox';
import { ERROR_CATALOG, type ErrorCode } from '../errors.js';

/** `{error: {code, message}}`, as src/http/errors.ts sends it; a 500 adds its correlation id. */
function errorShape(code: TSchema, description: string): TSchema {
  return Type.Object({ error: Type.Object({ code, message: Type.String(), correlation_id: Type.Optional(Type.String()) }) }, { description });
}

/**
 * A value or null. A type list rather than anyOf: OpenAPI 3.1 takes it as is, and the serializer writes it without
 * trying each branch.
 */
export function nullable<T extends 'string' | 'integer' | 'boolean'>(type: T, options: Record<string, unknown> = {}): TUnsafe<unknown> {
  return Type.Unsafe({ ...options, type: [type, 'null'] });
}

/** A string header of a response, for the document (fastify sends headers as the route sets them). */
export function responseHeader(description: string): { type: 'string'; description: string } {
  return { type: 'string', description };
}

/**
 * The error answers of a route, from the codes it answers with: each code goes under its HTTP status (from the one
 * list of errors), as the shared error shape with the code listed and described.
 */
export function errorAnswers(codes: readonly ErrorCode[]): Record<number, TSchema> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) {
    const status = ERROR_CATALOG[code].status;
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const answers: Record<number, TSchema> = {};
  for (const [status, list] of byStatus) {
    answers[status] = errorShape(
      Type.Unsafe<ErrorCode>({ type: 'string', enum: list, description: 'a code of docs/ERRORS.md' }),
      list.map((code) => `${code}: ${ERROR_CATALOG[code].summary}`).join(' '),
    );
  }
  return answers;
}
