/**
 * Access tokens for tests. In-process hubs: `tokenFor(engine.auth, baseUrl)` creates a client in the engine's
 * store and fetches a token over HTTP. Child-process hubs: `bootstrapToken(baseUrl, dataDir)` reads the
 * credentials the hub wrote to <dataDir>/bootstrap-client.json on first start.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BOOTSTRAP_FILE, type BootstrapCredentials } from '../../src/auth/bootstrap.js';
import type { AuthService } from '../../src/auth/service.js';
import type { Scope } from '../../src/auth/scopes.js';

export interface TestClient {
  id: string;
  secret: string;
}

/** Creates a client directly in the store (every scope unless told otherwise). */
export async function createTestClient(auth: AuthService, options: { name?: string; scopes?: Scope[]; profile?: string | null } = {}): Promise<TestClient> {
  const created = await auth.createClient({ name: options.name ?? 'test', scopes: options.scopes, profile: options.profile ?? null });
  if (!created) throw new Error('client not created');
  return { id: created.client.id, secret: created.secret };
}

/** POST /oauth2/token with HTTP Basic credentials; throws with the answer when no token comes back. */
export async function fetchToken(baseUrl: string, client: TestClient, scope?: string): Promise<string> {
  const form = new URLSearchParams({ grant_type: 'client_credentials' });
  if (scope !== undefined) form.set('scope', scope);
  const response = await fetch(`${baseUrl}/oauth2/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${encodeURIComponent(client.id)}:${encodeURIComponent(client.secret)}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: form.toString(),
  });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`token request failed: ${response.status} ${text}`);
  return (JSON.parse(text) as { access_token: string }).access_token;
}

/** A new client with these scopes (default all) and a token for it. */
export async function tokenFor(auth: AuthService, baseUrl: string, options: { scopes?: Scope[]; profile?: string | null } = {}): Promise<string> {
  return fetchToken(baseUrl, await createTestClient(auth, options));
}

export function readBootstrapClient(dataDir: string): BootstrapCredentials {
  return JSON.parse(readFileSync(join(dataDir, BOOTSTRAP_FILE), 'utf8')) as BootstrapCredentials;
}

/** A token for the bootstrap client of a hub that started on `dataDir`. */
export async function bootstrapToken(baseUrl: string, dataDir: string, scope?: string): Promise<string> {
  const credentials = readBootstrapClient(dataDir);
  return fetchToken(baseUrl, { id: credentials.client_id, secret: credentials.client_secret }, scope);
}

export function bearer(token: string): { authorization: string } {
  return { authorization: `Bearer ${token}` };
}
