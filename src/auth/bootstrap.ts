/**
 * First start: when no client exists, the hub creates one with every scope and writes its credentials to
 * `<dataDir>/bootstrap-client.json`, readable only by the owner (mode 0600). The log names the file, never the
 * secret. Creating the client is atomic (only into an empty client table), so two processes starting on one
 * fresh database create one client between them.
 */
import { chmodSync, closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../log.js';
import type { AuthService } from './service.js';

export const BOOTSTRAP_FILE = 'bootstrap-client.json';

/** The content of bootstrap-client.json. */
export interface BootstrapCredentials {
  client_id: string;
  client_secret: string;
  scope: string;
  token_endpoint: string;
}

/** Creates the bootstrap client when no client exists; returns the file path when it did. */
export async function ensureBootstrapClient(options: { auth: AuthService; dataDir: string; logger: Logger }): Promise<string | null> {
  const { auth, dataDir, logger } = options;
  if ((await auth.countClients()) > 0) return null;
  const created = await auth.createClient({ name: 'bootstrap' }, { onlyIfNone: true });
  if (!created) return null;
  const path = join(dataDir, BOOTSTRAP_FILE);
  const credentials: BootstrapCredentials = {
    client_id: created.client.id,
    client_secret: created.secret,
    scope: created.client.scopes.join(' '),
    token_endpoint: '/oauth2/token',
  };
  writePrivateFile(path, `${JSON.stringify(credentials, null, 2)}\n`);
  logger.warn(
    { path, clientId: created.client.id },
    'no API client existed: created one with every scope; its credentials are in this file (readable by the owner only). ' +
      'Create per-system clients with `mxgate clients create`, then delete the file.',
  );
  return path;
}

/** Writes a file readable and writable by the owner only, atomically (temporary file, fsync, rename). */
function writePrivateFile(path: string, content: string): void {
  mkdirSync(join(path, '..'), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  rmSync(temporary, { force: true });
  const fd = openSync(temporary, 'wx', 0o600);
  try {
    // The mode given to open is reduced by the umask; set it exactly.
    chmodSync(temporary, 0o600);
    writeSync(fd, content);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temporary, path);
}
