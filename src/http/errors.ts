/**
 * Maps every error to the API's one error shape `{error: {code, message}}` and its HTTP status.
 * Operating errors carry their catalog code; framework errors are translated; anything else is a 500 with the
 * request id as correlation id, logged with its stack (never a disguised 400).
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ERROR_CATALOG, isMxError, type ErrorCode } from '../errors.js';

export interface ErrorBody {
  error: { code: ErrorCode; message: string; correlation_id?: string };
}

const FRAMEWORK_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'BAD_REQUEST',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'BAD_REQUEST',
  FST_ERR_CTP_INVALID_JSON_BODY: 'BAD_REQUEST',
  FST_ERR_VALIDATION: 'INVALID_ATTRIBUTE',
};

export function toErrorReply(error: unknown, request: FastifyRequest): { status: number; body: ErrorBody } {
  if (isMxError(error)) {
    return { status: error.status, body: { error: { code: error.code, message: error.message } } };
  }
  const fastifyError = error as Partial<FastifyError> & { validation?: unknown };
  if (fastifyError.validation) {
    return { status: 400, body: { error: { code: 'INVALID_ATTRIBUTE', message: fastifyError.message ?? 'invalid request' } } };
  }
  const mapped = fastifyError.code ? FRAMEWORK_CODES[fastifyError.code] : undefined;
  if (mapped) {
    return { status: ERROR_CATALOG[mapped].status, body: { error: { code: mapped, message: fastifyError.message ?? mapped } } };
  }
  if (error instanceof SyntaxError && fastifyError.statusCode === 400) {
    return { status: 400, body: { error: { code: 'BAD_REQUEST', message: `request body is not valid JSON: ${error.message}` } } };
  }
  return {
    status: 500,
    body: { error: { code: 'INTERNAL', message: 'internal error; quote the correlation id when reporting it', correlation_id: String(request.id) } },
  };
}

export function sendError(reply: FastifyReply, request: FastifyRequest, error: unknown): FastifyReply {
  const { status, body } = toErrorReply(error, request);
  if (body.error.code === 'OVERLOADED') request.log.debug({ code: body.error.code }, 'request refused: backlog');
  else if (status >= 500) request.log.error({ err: error, code: body.error.code }, 'request failed');
  else request.log.info({ code: body.error.code, msg: body.error.message }, 'request rejected');
  // 503s are temporary by definition: tell clients when to come back (RFC 9110 section 10.2.3).
  if (status === 503) reply.header('retry-after', '1');
  return reply.code(status).send(body);
}
