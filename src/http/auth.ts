/**
 * Bearer authentication and scopes for every route, failing closed.
 *
 * Each route declares what it needs in its options: `config: { scope: 'mx/read' | 'mx/write' | 'mx/admin' |
 * 'public' }`. An `onRequest` hook (before the body is read) decides, per request:
 *
 *   route scope 'public' ─────────────────────────────────────────────────────────► handler (request.client = null)
 *   otherwise: no / bad / expired token, or client disabled ───────────────────────► 401 UNAUTHENTICATED
 *              token ok, no route matched ─────────────────────────────────────────► 404 (unknown routes are not
 *                                                                                    revealed to anonymous callers)
 *              token ok, route declares no scope (a bug) ──────────────────────────► 403 FORBIDDEN, logged as an error
 *              token ok, scope not held ───────────────────────────────────────────► 403 FORBIDDEN
 *              token ok, scope held ───────────────────────────────────────────────► handler (request.client set)
 *
 * Handlers read the caller from `request.client` ({id, scopes, profile, settings}); tenancy (answering 404 for
 * another client's resources) is theirs to apply with `request.client.id`.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AuthService, AuthenticatedClient } from '../auth/service.js';
import { isScope, type RouteScope } from '../auth/scopes.js';
import { MxError, isMxError } from '../errors.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** What the route requires; routes without one are refused to everyone (fail closed). */
    scope?: RouteScope;
  }
  interface FastifyRequest {
    /** The authenticated caller; set on every route except 'public' ones, where it is null. */
    client: AuthenticatedClient;
  }
}

export interface RouteScopeEntry {
  method: string;
  url: string;
  scope: RouteScope | undefined;
  /** Left out of the OpenAPI document (the documentation's own pages and assets). */
  hidden: boolean;
}

interface RegisteredRoute {
  method: string;
  url: string;
  options: { config?: { scope?: RouteScope }; schema?: { hide?: boolean } };
}

const REALM = 'mxgate';
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;
const registries = new WeakMap<FastifyInstance, RegisteredRoute[]>();

/** Every route registered after `installAuth`, with its declared scope (for the OpenAPI document and tests). */
export function routeScopes(app: FastifyInstance): RouteScopeEntry[] {
  // Read at call time: an encapsulated plugin's own onRoute hook may declare the scope after this one ran.
  return (registries.get(app) ?? []).map((r) => ({ method: r.method, url: r.url, scope: r.options.config?.scope, hidden: r.options.schema?.hide === true }));
}

/** The bearer token of an Authorization header, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  return header === undefined ? undefined : BEARER.exec(header)?.[1];
}

function challenge(reply: FastifyReply, params: string): void {
  reply.header('www-authenticate', `Bearer realm="${REALM}"${params}`);
}

/** Adds the authentication hook and the route registry to `app`; call it before any route is registered. */
export function installAuth(app: FastifyInstance, auth: AuthService): void {
  const registry: RegisteredRoute[] = [];
  registries.set(app, registry);
  app.decorateRequest('client', null as unknown as AuthenticatedClient);

  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const method of methods) registry.push({ method, url: route.url, options: route });
  });

  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    const scope = request.routeOptions.config.scope;
    if (scope === 'public' && !request.is404) return;
    const token = bearerToken(request.headers.authorization);
    if (token === undefined) {
      challenge(reply, '');
      throw new MxError('UNAUTHENTICATED', 'this call needs an access token: Authorization: Bearer <token> (POST /oauth2/token issues one)');
    }
    try {
      request.client = await auth.authenticate(token);
    } catch (error) {
      if (isMxError(error) && error.code === 'UNAUTHENTICATED') challenge(reply, ', error="invalid_token"');
      throw error;
    }
    if (request.is404) return;
    if (scope === undefined || !isScope(scope)) {
      request.log.error({ method: request.method, url: request.routeOptions.url }, 'route declares no scope; refused (fail closed)');
      throw new MxError('FORBIDDEN', 'this route is not open to any client');
    }
    if (!request.client.scopes.includes(scope)) {
      challenge(reply, `, error="insufficient_scope", scope="${scope}"`);
      throw new MxError('FORBIDDEN', `this call needs the scope ${scope}; the token has ${request.client.scopes.join(' ') || 'none'}`);
    }
  });
}
