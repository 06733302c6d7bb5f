/**
 * The command line's client of a running hub's HTTP API (`mxgate queues`, `mxgate replay`): where the hub is, the
 * bearer token (given, fetched with client credentials, or the bootstrap client's), one call per request, and the
 * hub's coded errors printed as `mxgate: CODE: message` with a non-zero exit status.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { MxError, isErrorCode, isMxError } from '../errors.js';
import { BOOTSTRAP_FILE, type BootstrapCredentials } from '../auth/bootstrap.js';

export const DEFAULT_HUB_URL = 'http://127.0.0.1:8080';

/** Adds the options that say which hub to call and as whom. */
export function withHubOptions(command: Command): Command {
  return command
    .addOption(new Option('--url <url>', 'base URL of the hub').env('MXGATE_URL').default(DEFAULT_HUB_URL))
    .addOption(new Option('--token <token>', 'bearer token for the hub').env('MXGATE_TOKEN'))
    .addOption(new Option('--client-id <id>', 'get a token with these client credentials').env('MXGATE_CLIENT_ID'))
    .addOption(new Option('--client-secret <secret>', 'secret of --client-id').env('MXGATE_CLIENT_SECRET'))
    .addOption(
      new Option('--data-dir <dir>', "without a token or client credentials, use the hub's bootstrap client in this directory")
        .env('MXGATE_DATA_DIR')
        .default('./data'),
    );
}

export interface ClientOptions {
  url: string;
  /** Bearer token sent with every request; the one place where authentication enters the client. */
  token?: string;
}

/** Where a token comes from when --token is not given: client credentials, or the hub's bootstrap file. */
interface CredentialOptions {
  clientId?: string;
  clientSecret?: string;
  dataDir?: string;
}

/**
 * The bearer token: --token as given; else one fetched from the hub's token endpoint with --client-id and
 * --client-secret, or with the bootstrap client's credentials in <data dir>/bootstrap-client.json when present.
 */
async function resolveToken(url: string, options: ClientOptions & CredentialOptions): Promise<string | undefined> {
  if (options.token) return options.token;
  let id = options.clientId;
  let secret = options.clientSecret;
  if ((id === undefined) !== (secret === undefined)) throw new InvalidArgumentError('give --client-id and --client-secret together');
  if (id === undefined && options.dataDir && existsSync(join(options.dataDir, BOOTSTRAP_FILE))) {
    const bootstrap = JSON.parse(await readFile(join(options.dataDir, BOOTSTRAP_FILE), 'utf8')) as BootstrapCredentials;
    ({ client_id: id, client_secret: secret } = bootstrap);
  }
  if (id === undefined || secret === undefined) return undefined;
  const tokenUrl = new URL('oauth2/token', url.endsWith('/') ? url : `${url}/`);
  let response: Response;
  try {
    response = await fetch(tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: id, client_secret: secret }).toString(),
    });
  } catch (cause) {
    const reason = cause instanceof Error && cause.cause instanceof Error ? cause.cause.message : String(cause);
    throw new HubError('HUB_UNREACHABLE', `cannot reach the hub at ${url}: ${reason}`, { cause });
  }
  const answer = (await response.json().catch(() => ({}))) as { access_token?: unknown; error?: unknown; error_description?: unknown };
  if (response.ok && typeof answer.access_token === 'string') return answer.access_token;
  const description = typeof answer.error_description === 'string' ? answer.error_description : `the token endpoint answered ${response.status}`;
  throw new MxError('UNAUTHENTICATED', `no access token for client ${id}: ${String(answer.error ?? 'error')}: ${description}`);
}

/** An error the hub answered with a code outside our catalog (a newer hub), or the hub could not be reached. */
export class HubError extends Error {
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'HubError';
  }
}

/** Calls the hub and returns the parsed JSON answer (undefined for 204); throws the hub's coded error. */
export async function request(client: ClientOptions, method: string, path: string, body?: unknown): Promise<unknown> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (client.token) headers.authorization = `Bearer ${client.token}`;
  const url = new URL(path, client.url.endsWith('/') ? client.url : `${client.url}/`);
  let response: Response;
  try {
    response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (cause) {
    const reason = cause instanceof Error && cause.cause instanceof Error ? cause.cause.message : String(cause);
    throw new HubError('HUB_UNREACHABLE', `cannot reach the hub at ${client.url}: ${reason}`, { cause });
  }
  if (response.status === 204) return undefined;
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    throw new HubError('BAD_RESPONSE', `the hub answered ${response.status} with a body that is not JSON`);
  }
  if (!response.ok) {
    const error = (parsed as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
    const code = typeof error?.code === 'string' ? error.code : `HTTP_${response.status}`;
    const message = typeof error?.message === 'string' ? error.message : `${method} ${url.pathname} failed`;
    throw isErrorCode(code) ? new MxError(code, message) : new HubError(code, message);
  }
  return parsed;
}

/** Parses a whole-number option. */
export function int(value: string): number {
  if (!/^\d{1,9}$/.test(value)) throw new InvalidArgumentError('expected a whole number');
  return Number(value);
}

/** Prints one line of the command's answer. */
export function out(line: string): void {
  process.stdout.write(`${line}\n`);
}

export function printJson(value: unknown): void {
  out(JSON.stringify(value, null, 2));
}

/** Wraps an action: errors of a newer hub or of the connection print like catalog errors, without a stack. */
export function action<A extends unknown[]>(fn: (client: ClientOptions, ...args: A) => Promise<void>) {
  return async (...args: unknown[]): Promise<void> => {
    const command = args[args.length - 1] as Command;
    const client = command.optsWithGlobals<ClientOptions & CredentialOptions>();
    try {
      const token = await resolveToken(client.url, client);
      await fn({ url: client.url, token }, ...(args.slice(0, -1) as A));
    } catch (error) {
      if (error instanceof InvalidArgumentError) command.error(`error: ${error.message}`, { exitCode: 2 });
      if (isMxError(error) || !(error instanceof HubError)) throw error;
      process.stderr.write(`mxgate: ${error.code}: ${error.message}\n`);
      process.exitCode = 1;
    }
  };
}

