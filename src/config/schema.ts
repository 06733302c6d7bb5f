import { Type, type Static, type TSchema } from '@sinclair/typebox';

/**
 * The one configuration schema. Every key has a default and bounds (secrets have no default).
 * Sources, lowest precedence first: defaults, the config file (JSON), MXGATE_* environment variables,
 * command-line flags. Unknown keys in any source are rejected.
 *
 * Environment names are derived from the key path: `http.bodyLimitBytes` -> MXGATE_HTTP_BODY_LIMIT_BYTES.
 */
const Int = (min: number, max: number, dflt: number, description: string) =>
  Type.Integer({ minimum: min, maximum: max, default: dflt, description });

export const QueueDefaultsSchema = Type.Object(
  {
    visibilityTimeoutS: Int(0, 43_200, 30, 'Visibility timeout of a new queue when not given, seconds.'),
    retentionS: Int(60, 1_209_600, 345_600, 'Retention period of a new queue when not given, seconds.'),
    maxMessageBytes: Int(1, 16 * 1024 * 1024, 262_144, 'Message size limit of a new queue when not given, bytes.'),
  },
  { additionalProperties: false, default: {} },
);

export const ConfigSchema = Type.Object(
  {
    host: Type.String({ default: '127.0.0.1', minLength: 1, description: 'Address the HTTP server binds to.' }),
    port: Int(0, 65_535, 8080, 'TCP port of the HTTP server (0 picks a free one).'),
    dataDir: Type.String({ default: './data', minLength: 1, description: 'Directory of the embedded SQLite database.' }),
    logLevel: Type.Union(
      ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
      { default: 'info', description: 'Minimum level of the JSON log.' },
    ),
    http: Type.Object(
      {
        bodyLimitBytes: Int(1024, 64 * 1024 * 1024, 10 * 1024 * 1024, 'Largest request body accepted, bytes (413 above).'),
        keepAliveTimeoutMs: Int(1000, 600_000, 72_000, 'Idle keep-alive connection timeout.'),
        requestTimeoutMs: Int(1000, 600_000, 60_000, 'Time a client has to send a whole request.'),
      },
      { additionalProperties: false, default: {} },
    ),
    sqlite: Type.Object(
      {
        commitBatchMax: Int(1, 10_000, 512, 'Most units of work shared by one group commit.'),
        busyTimeoutMs: Int(0, 60_000, 5000, 'How long to wait for a database lock held by another process.'),
      },
      { additionalProperties: false, default: {} },
    ),
    queues: Type.Object(
      {
        maxQueues: Int(1, 100_000, 1000, 'Most queues that may exist.'),
        dedupWindowS: Int(1, 86_400, 300, 'Deduplication window of queue messages, seconds.'),
        sweepIntervalMs: Int(100, 60_000, 1000, 'How often expired messages and dedup keys are removed.'),
        sweepBatchMax: Int(1, 100_000, 5000, 'Most rows one sweep removes.'),
        defaults: QueueDefaultsSchema,
      },
      { additionalProperties: false, default: {} },
    ),
    shutdownGraceMs: Int(0, 300_000, 10_000, 'How long shutdown waits for in-flight requests.'),
  },
  { additionalProperties: false },
);

export type Config = Static<typeof ConfigSchema>;

/** Leaf keys of the schema with their environment variable names, for loading and for `--help` texts. */
export function configLeaves(schema: TSchema = ConfigSchema, path: string[] = []): Array<{ path: string[]; env: string; schema: TSchema }> {
  if (schema.type === 'object' && schema.properties) {
    return Object.entries(schema.properties as Record<string, TSchema>).flatMap(([key, child]) =>
      configLeaves(child, [...path, key]),
    );
  }
  const env = 'MXGATE_' + path.map((p) => p.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()).join('_');
  return [{ path, env, schema }];
}
