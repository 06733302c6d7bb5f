import { Option, type Command } from 'commander';
import { loadConfig } from '../config/index.js';
import { ROLES, startHub, type Role } from '../main.js';

export function register(program: Command): void {
  program
    .command('serve')
    .description('run the hub: HTTP API, workflow stages and background work')
    .option('-c, --config <file>', 'JSON configuration file (also MXGATE_CONFIG)')
    .option('--host <address>', 'address to bind (MXGATE_HOST)')
    .option('--port <port>', 'TCP port (MXGATE_PORT)', (v) => Number(v))
    .option('--data-dir <dir>', 'directory of the embedded database (MXGATE_DATA_DIR)')
    .option('--log-level <level>', 'fatal|error|warn|info|debug|trace|silent (MXGATE_LOG_LEVEL)')
    .option('--store <url>', 'PostgreSQL URL of the distributed store (MXGATE_STORE)')
    .option('--queues <url>', 'NATS URL of the JetStream queues (MXGATE_QUEUES)')
    .addOption(
      new Option('--role <role>', 'api: HTTP only; worker: workflow stages; scheduler: timeouts, relay, retention (one active at a time); all')
        .choices(ROLES)
        .default('all'),
    )
    .action(async (opts: { config?: string; host?: string; port?: number; dataDir?: string; logLevel?: string; store?: string; queues?: string; role: Role }) => {
      const config = loadConfig({
        file: opts.config,
        env: process.env,
        overrides: { host: opts.host, port: opts.port, dataDir: opts.dataDir, logLevel: opts.logLevel, store: opts.store, queues: opts.queues },
      });
      const hub = await startHub(config, { role: opts.role });
      let signals = 0;
      const onSignal = (signal: NodeJS.Signals) => {
        signals += 1;
        if (signals > 1) {
          hub.logger.warn({ signal }, 'second signal: exiting at once');
          process.exit(1);
        }
        hub.logger.info({ signal }, 'signal received');
        hub.stop().then(
          () => process.exit(0),
          (err: unknown) => {
            hub.logger.error({ err }, 'shutdown failed');
            process.exit(1);
          },
        );
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
    });
}
