/**
 * POST /oauth2/token (OAuth 2.0 client credentials grant, RFC 6749 section 4.4) and GET /.well-known/jwks.json.
 *
 * The token endpoint speaks OAuth, not the hub's error shape: errors are `{error, error_description}` with the
 * codes of RFC 6749 section 5.2 (400, or 401 for invalid_client; 429 with Retry-After after too many failed
 * attempts for one client id), so that OAuth client libraries understand them. Credentials come by HTTP Basic
 * (RFC 6749 section 2.3.1) or as client_id / client_secret fields, never both; the body is form-encoded
 * (application/x-www-form-urlencoded, as the RFC requires) or JSON.
 */
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyError, FastifyPluginAsync, FastifyReply } from 'fastify';
import { OAuthError, type AuthService, type OAuthErrorCode } from '../../auth/service.js';
import { SCOPES } from '../../auth/scopes.js';

const FORM_BODY_BYTES_MAX = 16 * 1024;

const TokenBody = Type.Object(
  {
    grant_type: Type.Optional(Type.String({ maxLength: 64, description: 'client_credentials' })),
    client_id: Type.Optional(Type.String({ maxLength: 1024, description: 'when not given by HTTP Basic' })),
    client_secret: Type.Optional(Type.String({ maxLength: 1024, description: 'when not given by HTTP Basic' })),
    scope: Type.Optional(Type.String({ maxLength: 1024, description: `space-separated subset of the client's scopes (${SCOPES.join(' ')}); default all` })),
  },
  { additionalProperties: true },
);

const TokenAnswer = Type.Object({
  access_token: Type.String(),
  token_type: Type.Literal('Bearer'),
  expires_in: Type.Integer({ description: 'seconds' }),
  scope: Type.String(),
});

const OAuthErrorBody = Type.Object({
  error: Type.String({ description: 'invalid_request, invalid_client, invalid_grant, invalid_scope, unsupported_grant_type' }),
  error_description: Type.String(),
});

const Jwks = Type.Object({
  keys: Type.Array(
    Type.Object(
      { kty: Type.String(), crv: Type.String(), x: Type.String(), y: Type.String(), kid: Type.String(), alg: Type.String(), use: Type.String() },
      { additionalProperties: true },
    ),
  ),
});

/** The form parser refuses repeated parameters (RFC 6749 section 3.2): */
class RepeatedParameter extends Error {}

function parseForm(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of new URLSearchParams(text)) {
    if (Object.hasOwn(out, name)) throw new RepeatedParameter(`parameter ${name} is given more than once`);
    out[name] = value;
  }
  return out;
}

/** Decodes one part of HTTP Basic credentials, which OAuth form-encodes first (RFC 6749 section 2.3.1). */
function formDecode(part: string): string {
  try {
    return decodeURIComponent(part.replaceAll('+', ' '));
  } catch {
    return part;
  }
}

function basicCredentials(header: string | undefined): { id: string; secret: string } | 'malformed' | undefined {
  if (header === undefined) return undefined;
  const m = /^Basic +([A-Za-z0-9+/]+=*) *$/i.exec(header);
  if (!m) return 'malformed';
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return 'malformed';
  return { id: formDecode(decoded.slice(0, colon)), secret: formDecode(decoded.slice(colon + 1)) };
}

function sendOAuthError(reply: FastifyReply, error: OAuthError, basic: boolean): FastifyReply {
  reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
  if (error.status === 401) reply.header('www-authenticate', basic ? 'Basic realm="mxgate"' : 'Bearer realm="mxgate"');
  if (error.retryAfterS !== undefined) reply.header('retry-after', String(error.retryAfterS));
  return reply.code(error.status).send({ error: error.error, error_description: error.description });
}

function frameworkError(error: FastifyError): OAuthError {
  const code: OAuthErrorCode = 'invalid_request';
  if (error instanceof RepeatedParameter || error.cause instanceof RepeatedParameter) return new OAuthError(code, error.message);
  if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    return new OAuthError(code, 'the body must be application/x-www-form-urlencoded (or application/json)');
  }
  if (error.validation) return new OAuthError(code, `invalid parameters: ${error.message}`);
  return new OAuthError(code, error.message || 'malformed request');
}

export const oauthRoutes: FastifyPluginAsync<{ auth: AuthService }> = async (app, { auth }) => {
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: FORM_BODY_BYTES_MAX }, (_request, body, done) => {
    try {
      done(null, parseForm(body as string));
    } catch (error) {
      done(error as Error, undefined);
    }
  });
  // Errors of this plugin (bad body, bad media type) are OAuth errors; anything unexpected stays a hub 500.
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if ((error.statusCode ?? 500) >= 500 && !(error instanceof RepeatedParameter)) throw error;
    return sendOAuthError(reply, frameworkError(error), request.headers.authorization !== undefined);
  });

  app.post<{ Body: Static<typeof TokenBody> | undefined }>(
    '/oauth2/token',
    {
      config: { scope: 'public' },
      schema: {
        summary: 'Get an access token (OAuth 2.0 client credentials grant)',
        description:
          'Client credentials by HTTP Basic or as client_id and client_secret fields. Errors follow RFC 6749 section 5.2 ' +
          '({error, error_description}), not the hub error shape.',
        tags: ['auth'],
        consumes: ['application/x-www-form-urlencoded', 'application/json'],
        body: TokenBody,
        response: { 200: TokenAnswer, 400: OAuthErrorBody, 401: OAuthErrorBody, 429: OAuthErrorBody },
      },
    },
    async (request, reply) => {
      const body = request.body ?? {};
      const basic = basicCredentials(request.headers.authorization);
      try {
        if (basic === 'malformed') throw new OAuthError('invalid_client', 'the Authorization header is not valid HTTP Basic credentials');
        if (basic && (body.client_id !== undefined || body.client_secret !== undefined)) {
          throw new OAuthError('invalid_request', 'give the client credentials by HTTP Basic or in the body, not both');
        }
        const grant = await auth.issueToken({
          grantType: body.grant_type,
          clientId: basic ? basic.id : body.client_id,
          clientSecret: basic ? basic.secret : body.client_secret,
          scope: body.scope,
        });
        return reply
          .header('cache-control', 'no-store')
          .header('pragma', 'no-cache')
          .send({ access_token: grant.accessToken, token_type: grant.tokenType, expires_in: grant.expiresInS, scope: grant.scope });
      } catch (error) {
        if (error instanceof OAuthError) return sendOAuthError(reply, error, basic !== undefined);
        throw error;
      }
    },
  );

  app.get(
    '/.well-known/jwks.json',
    {
      config: { scope: 'public' },
      schema: { summary: 'Public keys that verify access tokens (current and not yet retired)', tags: ['auth'], response: { 200: Jwks } },
    },
    async (_request, reply) => reply.header('cache-control', 'public, max-age=60').send(await auth.jwks()),
  );
};
