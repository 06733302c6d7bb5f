/**
 * `mxgate clients ...` and `mxgate keys ...`: API clients and token signing keys, managed on the database
 * directly (like `serve`, they take --config and --data-dir), so they work whether or not a hub is running.
 * A running hub on the same database sees the changes within seconds (auth.clientCacheMs, auth.keyCacheMs).
 * A secret is printed exactly once, when it is created or rotated; `list` and `show` never print secrets.
 */
import { Command, Option } from 'commander';
import { AuthService, type ClientInfo, type KeyInfo } from '../auth/service.js';
import { SCOPES } from '../auth/scopes.js';
import { redactSettings } from '../auth/attributes.js';
import { loadConfig } from '../config/index.js';
import { openEmbeddedEngine } from '../engines/embedded.js';
import { openPostgresStore } from '../storage/postgres/index.js';
import { silentLogger } from '../log.js';
import { systemClock } from '../ports/clock.js';
import { randomIds } from '../ports/ids.js';
import { clientJson } from '../http/routes/admin.js';
import { out } from './hub-client.js';

interface DatabaseOptions {
  config?: string;
  dataDir?: string;
  store?: string;
}

/**
 * Opens the hub's store (the embedded database, or PostgreSQL when a store URL is configured), runs `work` on
 * its auth service, and closes it.
 */
async function withAuth<T>(options: DatabaseOptions, work: (auth: AuthService) => Promise<T>): Promise<T> {
  const config = loadConfig({ file: options.config, env: process.env, overrides: { dataDir: options.dataDir } });
  const logger = silentLogger();
  const store = options.store ?? config.store;
  if (store !== null) {
    const pg = await openPostgresStore({ url: store, schema: config.postgres.schema, clock: systemClock, ids: randomIds, logger });
    try {
      return await work(new AuthService({ store: pg.auth, clock: systemClock, ids: randomIds, logger, config: config.auth }));
    } finally {
      await pg.close();
    }
  }
  const engine = openEmbeddedEngine({ config, clock: systemClock, ids: randomIds, logger });
  try {
    return await work(engine.auth);
  } finally {
    await engine.close();
  }
}


function printJson(value: unknown): void {
  out(JSON.stringify(value, null, 2));
}

function printFields(fields: Array<[string, string]>): void {
  const width = Math.max(...fields.map(([k]) => k.length));
  for (const [k, v] of fields) out(`${k.padEnd(width)}  ${v}`);
}

function table(rows: string[][]): void {
  const widths = rows[0]!.map((_, col) => Math.max(...rows.map((r) => r[col]!.length)));
  for (const row of rows) out(row.map((cell, col) => cell.padEnd(widths[col]!)).join('  ').trimEnd());
}

function clientFields(c: ClientInfo): Array<[string, string]> {
  return [
    ['client_id', c.id],
    ['name', c.name],
    ['scopes', c.scopes.join(' ')],
    ['profile', c.profile ?? '-'],
    ['enabled', String(c.enabled)],
    ['settings', JSON.stringify(redactSettings(c.settings))],
    ['created_at', new Date(c.createdAt).toISOString()],
    ['updated_at', new Date(c.updatedAt).toISOString()],
  ];
}

function printSecret(client: ClientInfo, secret: string, json: boolean | undefined): void {
  if (json) return printJson({ ...clientJson(client), client_secret: secret });
  printFields([...clientFields(client), ['client_secret', secret]]);
  process.stderr.write('The secret is shown once and stored only as a hash: keep it now.\n');
}

function parseSettings(value: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new Error('--settings takes a JSON object');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('--settings takes a JSON object');
  return parsed as Record<string, unknown>;
}

function databaseOptions(command: Command): Command {
  return command
    .addOption(new Option('-c, --config <file>', 'JSON configuration file (also MXGATE_CONFIG)'))
    .addOption(new Option('--data-dir <dir>', 'directory of the embedded database (MXGATE_DATA_DIR)'))
    .addOption(new Option('--store <url>', 'PostgreSQL URL of the distributed store (MXGATE_STORE)'));
}

export function register(program: Command): void {
  const clients = databaseOptions(program.command('clients').description('manage the API clients (on the database directly)'));

  clients
    .command('create')
    .description('create a client and print its id and secret (the secret only this once)')
    .requiredOption('--name <name>', 'what the client is (a system, a participant)')
    .option('--scopes <scopes>', `space-separated scopes (default all: ${SCOPES.join(' ')})`)
    .option('--profile <profile>', "scheme profile applied to its payments: 'cbpr+' or 'fednow'")
    .option('--settings <json>', 'per-client settings as a JSON object: slaMs, webhook, bridge, limits, messageLimits (see the README)', parseSettings)
    .option('--json', 'print JSON')
    .action(async (o: { name: string; scopes?: string; profile?: string; settings?: Record<string, unknown>; json?: boolean }, command: Command) => {
      const created = await withAuth(command.optsWithGlobals<DatabaseOptions>(), (auth) =>
        auth.createClient({ name: o.name, scopes: o.scopes, profile: o.profile ?? null, settings: o.settings }),
      );
      if (!created) throw new Error('assertion failed: an unconditional create always inserts');
      printSecret(created.client, created.secret, o.json);
    });

  clients
    .command('list')
    .description('list the clients (never their secrets)')
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }, command: Command) => {
      const list = await withAuth(command.optsWithGlobals<DatabaseOptions>(), (auth) => auth.listClients());
      if (o.json) return printJson(list.map(clientJson));
      const rows = [['CLIENT ID', 'NAME', 'SCOPES', 'PROFILE', 'ENABLED', 'CREATED']];
      for (const c of list) rows.push([c.id, c.name, c.scopes.join(' '), c.profile ?? '-', c.enabled ? 'yes' : 'no', new Date(c.createdAt).toISOString()]);
      table(rows);
    });

  clients
    .command('show <id>')
    .description('describe one client (never its secret)')
    .option('--json', 'print JSON')
    .action(async (id: string, o: { json?: boolean }, command: Command) => {
      const client = await withAuth(command.optsWithGlobals<DatabaseOptions>(), (auth) => auth.getClient(id));
      if (o.json) printJson(clientJson(client));
      else printFields(clientFields(client));
    });

  clients
    .command('update <id>')
    .description('change the name, scopes, profile or settings of a client (settings are replaced whole)')
    .option('--name <name>', 'new name')
    .option('--scopes <scopes>', 'new space-separated scopes')
    .option('--profile <profile>', "new scheme profile: 'cbpr+', 'fednow', or 'none'")
    .option('--settings <json>', 'new per-client settings as a JSON object', parseSettings)
    .option('--json', 'print JSON')
    .action(async (id: string, o: { name?: string; scopes?: string; profile?: string; settings?: Record<string, unknown>; json?: boolean }, command: Command) => {
      const profile = o.profile === undefined ? undefined : o.profile === 'none' ? null : o.profile;
      const client = await withAuth(command.optsWithGlobals<DatabaseOptions>(), (auth) =>
        auth.updateClient(id, { name: o.name, scopes: o.scopes, profile, settings: o.settings }),
      );
      if (o.json) printJson(clientJson(client));
      else printFields(clientFields(client));
    });

  clients
    .command('rotate-secret <id>')
    .description('replace the secret (the old one stops working at once) and print the new one, once')
    .option('--json', 'print JSON')
    .action(async (id: string, o: { json?: boolean }, command: Command) => {
      const { client, secret } = await withAuth(command.optsWithGlobals<DatabaseOptions>(), (auth) => auth.rotateSecret(id));
      printSecret(client, secret, o.json);
    });

  clients
    .command('disable <id>')
    .description('disable a client: no new tokens, and its tokens stop working within seconds')
    .action(async (id: string, _o: unknown, command: Command) => {
      await withAuth(command.optsWithGlobals<DatabaseOptions>(), (auth) => auth.setEnabled(id, false));
      out(`client ${id} disabled`);
    });

  clients
    .command('enable <id>')
    .description('enable a disabled client again')
    .action(async (id: string, _o: unknown, command: Command) => {
      await withAuth(command.optsWithGlobals<DatabaseOptions>(), (auth) => auth.setEnabled(id, true));
      out(`client ${id} enabled`);
    });

  const keys = databaseOptions(program.command('keys').description('manage the signing keys of access tokens (on the database directly)'));

  const keyRows = (list: KeyInfo[]) => {
    const rows = [['KID', 'STATE', 'CREATED', 'RETIRES']];
    for (const k of list) rows.push([k.kid, k.state, new Date(k.createdAt).toISOString(), k.retireAt === null ? '-' : new Date(k.retireAt).toISOString()]);
    table(rows);
  };
  const keyJson = (k: KeyInfo) => ({
    kid: k.kid,
    alg: k.alg,
    state: k.state,
    created_at: new Date(k.createdAt).toISOString(),
    retire_at: k.retireAt === null ? null : new Date(k.retireAt).toISOString(),
  });

  keys
    .command('rotate')
    .description('make a new current key; the old ones verify until the tokens they signed expire, then retire')
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }, command: Command) => {
      const list = await withAuth(command.optsWithGlobals<DatabaseOptions>(), async (auth) => {
        await auth.rotateKeys();
        return auth.listKeys();
      });
      if (o.json) return printJson(list.map(keyJson));
      out(`new current key ${list.find((k) => k.state === 'current')?.kid ?? '?'}`);
      keyRows(list);
    });

  keys
    .command('list')
    .description('list the live keys (current and previous ones not yet retired)')
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }, command: Command) => {
      const list = await withAuth(command.optsWithGlobals<DatabaseOptions>(), (auth) => auth.listKeys());
      if (o.json) printJson(list.map(keyJson));
      else keyRows(list);
    });
}
