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

const CurrencyCode = () => Type.String({ pattern: '^[A-Z]{3}$' });
/** An amount as a decimal string (never a number): up to 18 integer digits and 5 decimals, like ISO 20022 amounts. */
const DecimalAmount = () => Type.String({ pattern: '^(0|[1-9][0-9]{0,17})([.][0-9]{1,5})?$' });
const currencyAmounts = (options: { default?: object; description?: string } = {}) =>
  Type.Record(CurrencyCode(), DecimalAmount(), { additionalProperties: false, maxProperties: 300, ...options });

/** ISO 4217 currency code -> amount: the shape of amount limits, in the config and in a client's settings. */
export const CurrencyAmountsSchema = currencyAmounts();

export const WEEKDAYS = ['MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT', 'SUN'] as const;

const calendarRules = {
  timeZone: () => Type.String({ minLength: 1, maxLength: 64 }),
  cutoff: () => Type.String({ pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$' }),
  businessDays: (options: object = {}) =>
    Type.Array(Type.Union(WEEKDAYS.map((d) => Type.Literal(d))), { minItems: 1, maxItems: 7, uniqueItems: true, ...options }),
  holidays: (options: object = {}) =>
    Type.Array(Type.String({ pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' }), { maxItems: 10_000, uniqueItems: true, ...options }),
};

export const ChecksSchema = Type.Object(
  {
    sanctions: Type.Object(
      {
        file: Type.Union([Type.String({ minLength: 1, maxLength: 4096 }), Type.Null()], {
          default: null,
          description: 'Sanctions list file (one entry a line, see README "Checks"); null turns screening off.',
        }),
        reloadIntervalMs: Int(100, 3_600_000, 5000, 'How often the list file is checked for changes (mtime, size, inode).'),
        fileBytesMax: Int(1, 256 * 1024 * 1024, 64 * 1024 * 1024, 'Largest list file accepted, bytes.'),
        entriesMax: Int(1, 10_000_000, 1_000_000, 'Most entries a list file may hold.'),
      },
      { additionalProperties: false, default: {} },
    ),
    limits: currencyAmounts({
      default: {},
      description: 'Largest amount of one payment per currency (a client\'s "limits" setting overrides per currency); AM02 above.',
    }),
    messageLimits: currencyAmounts({
      default: {},
      description: 'Largest total of one message per currency (a client\'s "messageLimits" setting overrides); AM02 for the message.',
    }),
    calendar: Type.Object(
      {
        timeZone: Type.Union([calendarRules.timeZone(), Type.Null()], {
          default: null,
          description: 'IANA time zone of the business calendar; null turns the cut-off and date checks off.',
        }),
        cutoff: Type.Union([calendarRules.cutoff(), Type.Null()], {
          default: null,
          description: 'Local time (HH:MM) from which payments settling today are refused with TM01; null: no cut-off.',
        }),
        businessDays: calendarRules.businessDays({ default: ['MON', 'TUE', 'WED', 'THU', 'FRI'], description: 'Weekdays on which payments settle.' }),
        holidays: calendarRules.holidays({ default: [], description: 'Dates (YYYY-MM-DD) on which payments do not settle.' }),
        maxDaysAhead: Int(0, 3660, 366, 'Furthest settlement date accepted, in days after today (DT01 beyond).'),
        currencies: Type.Record(
          CurrencyCode(),
          Type.Object(
            {
              timeZone: Type.Optional(calendarRules.timeZone()),
              cutoff: Type.Optional(Type.Union([calendarRules.cutoff(), Type.Null()])),
              businessDays: Type.Optional(calendarRules.businessDays()),
              holidays: Type.Optional(calendarRules.holidays()),
            },
            { additionalProperties: false },
          ),
          {
            additionalProperties: false,
            maxProperties: 300,
            default: {},
            description: 'Per-currency rules (timeZone, cutoff, businessDays, holidays), each replacing the calendar\'s own.',
          },
        ),
      },
      { additionalProperties: false, default: {} },
    ),
    plugins: Type.Array(
      Type.Object(
        {
          module: Type.String({ minLength: 1, maxLength: 4096, description: 'Path (relative to the working directory) or package name of an ES module exporting createCheck.' }),
          options: Type.Record(Type.String(), Type.Unknown(), { default: {}, description: 'Passed to createCheck as is.' }),
        },
        { additionalProperties: false },
      ),
      { maxItems: 32, default: [], description: 'Checks of your own, loaded at start (README "Checks of your own"); they run after the built-in ones unless checks.order says otherwise.' },
    ),
    order: Type.Array(Type.String({ pattern: '^[a-z][a-z0-9_-]{0,63}$' }), {
      maxItems: 64,
      default: [],
      description: 'Names of checks in the order they run (sanctions, limits, calendar, plug-ins by name); checks not named follow in their default order.',
    }),
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
    backup: Type.Object(
      {
        intervalS: Int(0, 604_800, 0, 'Embedded engine: seconds between the backups the hub takes of its database (mxgate backup, on a worker thread); 0: none.'),
        dir: Type.Union([Type.String({ minLength: 1, maxLength: 4096 }), Type.Null()], {
          default: null,
          description: 'Directory of those backups (made when missing, mode 0700); null: <dataDir>/backups. Put it on another disk, and ship its files off the machine.',
        }),
        keep: Int(1, 10_000, 24, 'Backups kept in that directory; the oldest beyond it are removed once a newer one is complete.'),
      },
      { additionalProperties: false, default: {} },
    ),
    sqlite: Type.Object(
      {
        commitBatchMax: Int(1, 10_000, 512, 'Most units of work shared by one group commit.'),
        busyTimeoutMs: Int(0, 60_000, 5000, 'How long to wait for a database lock held by another process.'),
        durability: Type.Union([Type.Literal('pipelined'), Type.Literal('full')], {
          default: 'pipelined',
          description: 'How commits reach stable storage; both are durable. pipelined: WAL flushed off the event loop while the next batch runs; full: SQLite flushes inside COMMIT.',
        }),
        walResetMb: Int(1, 65_536, 64, 'pipelined: WAL size (MiB) past which new commits wait for a checkpoint that lets the WAL start over from its beginning, so that it stays about this size under steady load.'),
      },
      { additionalProperties: false, default: {} },
    ),
    store: Type.Union([Type.String({ pattern: '^postgres(ql)?://', maxLength: 2048 }), Type.Null()], {
      default: null,
      description: 'PostgreSQL URL of the distributed store (postgres://user@host:5432/db); null: the embedded SQLite store in dataDir.',
    }),
    postgres: Type.Object(
      {
        schema: Type.String({
          default: 'mxgate',
          pattern: '^[a-z_][a-z0-9_]{0,62}$',
          description: 'Schema holding every table of the PostgreSQL store (created when missing); lower-case letters, digits, "_".',
        }),
        poolMax: Int(1, 1000, 10, 'Most PostgreSQL connections one process opens.'),
        connectTimeoutMs: Int(100, 120_000, 5000, 'How long a transaction waits for a connection before STORE_UNAVAILABLE.'),
        statementTimeoutMs: Int(100, 600_000, 10_000, 'Server-side limit on one statement.'),
        idleInTransactionTimeoutMs: Int(1000, 3_600_000, 60_000, 'Server-side limit on a transaction left idle (a stuck process releases its locks).'),
        preparedStatements: Type.Boolean({
          default: true,
          description: 'Name the hot statements so that each connection parses and plans them once; false behind a proxy that does not keep prepared statements (PgBouncer before 1.21 in transaction mode).',
        }),
        commitUnitsMax: Int(1, 30, 16, 'Most store transactions sharing one PostgreSQL commit (group commit; 1 turns it off).'),
        commitBatchMs: Int(0, 10_000, 50, 'A group commit starts no further transaction after running this long (it holds their row locks until it commits).'),
        commitBatchesMax: Int(1, 1000, 3, 'Most group commits running at once in one process, each on its own connection (at most poolMax); fewer, larger commits cost PostgreSQL less per transaction.'),
        relayBatchMax: Int(1, 1000, 100, 'Most outbox rows one relay pass hands to the queues.'),
        relayPollIntervalMs: Int(10, 60_000, 1000, 'Longest wait of the outbox relay between passes when no NOTIFY arrives.'),
        relayCoalesceMs: Int(0, 1000, 5, 'Pause of the outbox relay after a pass that moved rows, so that the next pass moves the rows of more commits at once.'),
        relayStandbyAfterMs: Int(100, 3_600_000, 2000, 'Age of outbox rows after which the standby relay of a process without the scheduler lease moves them (the active relay is gone or stuck).'),
      },
      { additionalProperties: false, default: {} },
    ),
    queues: Type.Union([Type.String({ pattern: '^nats://', maxLength: 2048 }), Type.Null()], {
      default: null,
      description: 'NATS URL of the JetStream queue engine (nats://host:4222, several comma-separated); null: the embedded queues.',
    }),
    broker: Type.Object(
      {
        maxQueues: Int(1, 100_000, 1000, 'Most queues that may exist.'),
        namespace: Type.String({
          default: 'mxq',
          pattern: '^[a-z][a-z0-9]{0,15}$',
          description: 'Distributed engine: prefix of every JetStream stream, subject and bucket (several hubs can share a NATS cluster).',
        }),
        replicas: Int(
          1,
          5,
          1,
          'Distributed engine: copies of every JetStream stream and KV bucket the hub creates (3 in a 3-node cluster); at start the existing ones of the namespace are brought to this count.',
        ),
        dedupWindowS: Int(1, 86_400, 300, 'Deduplication window of queue messages, seconds.'),
        sweepIntervalMs: Int(100, 60_000, 1000, 'How often expired messages and dedup keys are removed.'),
        sweepBatchMax: Int(1, 100_000, 5000, 'Most rows one sweep removes.'),
        defaults: QueueDefaultsSchema,
      },
      { additionalProperties: false, default: {} },
    ),
    workflow: Type.Object(
      {
        slaMs: Int(100, 86_400_000, 10_000, 'Deadline of a payment when its message sets none, from submission.'),
        keyRetentionDays: Int(1, 3650, 90, 'How long business keys (MsgId, EndToEndId, TxId, UETR) block duplicates.'),
        reservationTtlMs: Int(60_000, 365 * 86_400_000, 86_400_000, 'How long an id reserved by POST /v1/transactions or GET /uuid waits for its message; then it is removed (404).'),
        schemaDir: Type.Union([Type.String({ minLength: 1 }), Type.Null()], {
          default: null,
          description: 'Directory of official ISO 20022 XSDs (<message id>.xsd); null skips schema validation.',
        }),
        fifoGroup: Type.Union([Type.Literal('debtor'), Type.Literal('sender'), Type.Literal('message')], {
          default: 'debtor',
          description:
            "What keeps its order through the stages: 'debtor' (sender + debtor account), 'sender' (all of a client's messages), 'message' (none: every message on its own).",
        }),
        stageConcurrency: Int(1, 256, 16, 'Concurrent consumers per workflow stage.'),
        stageAttemptsMax: Int(1, 100, 5, 'Attempts of a stage on one message before it is dead-lettered.'),
        retryBaseMs: Int(10, 600_000, 200, 'First retry delay of a failed stage; doubles per attempt.'),
        retryMaxMs: Int(100, 3_600_000, 30_000, 'Longest retry delay of a failed stage.'),
        timeoutSweepIntervalMs: Int(50, 10_000, 200, 'How often payments past their deadline are rejected.'),
        timeoutBatchMax: Int(1, 10_000, 500, 'Most payments one timeout sweep rejects.'),
        backlogMax: Int(
          0,
          10_000_000,
          2000,
          'Payments waiting for processing (processing queue, plus outbox rows on the distributed engine) at which new payments are refused with 503 OVERLOADED; 0 admits everything.',
        ),
        parsedCacheMax: Int(0, 100_000, 2048, 'Parsed messages kept between intake and processing (0 turns the cache off).'),
        xmlWorkers: Int(0, 64, 1, 'Worker threads that read submitted messages (parse, rules, profile) and build status reports beside the event loop; 0: on the event loop.'),
        xmlOffloadDelayUs: Int(
          0,
          1_000_000,
          1000,
          'Mean event-loop delay (µs, over each 200 ms) from which submitted messages go to the XML workers, the sign that the event loop is saturated; below a third of it the event loop reads them itself again, which costs less CPU in all. 0: always on the workers.',
        ),
        lifecycleEvents: Type.Boolean({
          default: true,
          description:
            'Send an event to the mx.events queue when a transaction becomes final. false for a hub whose events nobody consumes: the queue would keep them for its retention, and each costs a queue message (and on the distributed engine an outbox row and a JetStream message).',
        }),
        releaseInline: Type.Boolean({
          default: true,
          description:
            'When no downstream system is configured, the processing transaction also releases an accepted payment (ACSP, then ACSC with its status report) instead of sending it through the releasing queue.',
        }),
        carryMessageMaxBytes: Int(
          0,
          49_152,
          32_768,
          'On the distributed engine, stage messages carry the payment message up to this size, so that a worker does not read it back from PostgreSQL (0: never). The embedded engine keeps it in memory instead.',
        ),
      },
      { additionalProperties: false, default: {} },
    ),
    auth: Type.Object(
      {
        issuer: Type.String({ default: 'mxgate', minLength: 1, maxLength: 256, description: 'iss claim of issued tokens, and the only issuer accepted.' }),
        audience: Type.String({ default: 'mxgate', minLength: 1, maxLength: 256, description: 'aud claim of issued tokens, and the only audience accepted.' }),
        tokenTtlS: Int(60, 86_400, 3600, 'Lifetime of an access token, seconds.'),
        clockSkewS: Int(0, 300, 30, 'Clock difference tolerated when checking token times, seconds.'),
        clientCacheMs: Int(0, 30_000, 2000, "How long a client's enabled state and scopes are cached; a disabled client's tokens stop working within this."),
        keyCacheMs: Int(100, 60_000, 5000, 'How often the signing keys are re-read, so a rotation by another process is seen within this.'),
        failedAttemptsMax: Int(1, 1000, 10, 'Failed token requests allowed per client id and window; further attempts are refused until the window ends.'),
        failedAttemptsWindowS: Int(1, 3600, 60, 'Window of the failed-attempt limit, seconds.'),
      },
      { additionalProperties: false, default: {} },
    ),
    downstream: Type.Object(
      {
        url: Type.Union([Type.String({ pattern: '^https?://', maxLength: 2048 }), Type.Null()], {
          default: null,
          description: 'Where accepted payments are forwarded (the payment system behind the hub); null: the hub completes them itself.',
        }),
        mode: Type.Union([Type.Literal('sync'), Type.Literal('async')], {
          default: 'sync',
          description: 'sync: the answer (pacs.002) is in the response; async: it is posted back to the inbox later.',
        }),
        timeoutMs: Int(100, 120_000, 5000, 'How long one forwarding request may take.'),
        authorization: Type.Union([Type.String({ minLength: 1, maxLength: 4096 }), Type.Null()], {
          default: null,
          description: 'Authorization header sent downstream (a secret: no default).',
        }),
        answerClientIds: Type.Array(Type.String({ minLength: 1, maxLength: 128 }), {
          default: [],
          maxItems: 100,
          description: 'Clients whose pacs.002 and camt.029 messages are taken as answers to forwarded payments and cancellation requests.',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    webhooks: Type.Object(
      {
        timeoutMs: Int(100, 60_000, 5000, "How long one push of a status report to a client's webhook may take."),
        attemptsMax: Int(1, 100, 12, 'Pushes of one report before it is dead-lettered (mx.delivering.dlq.fifo).'),
        retryMaxMs: Int(100, 3_600_000, 300_000, 'Longest wait between two pushes of a report; the wait doubles from workflow.retryBaseMs.'),
      },
      { additionalProperties: false, default: {} },
    ),
    bridges: Type.Object(
      {
        amqp: Type.Object(
          {
            url: Type.Union([Type.String({ pattern: '^amqps?://', maxLength: 2048 }), Type.Null()], {
              default: null,
              description:
                "AMQP 0-9-1 broker (RabbitMQ) that clients' status reports are published to, for clients with a bridge setting: amqp(s)://user:password@host:5672/vhost (a secret: no default); null: none.",
            }),
            exchange: Type.String({
              default: '',
              maxLength: 255,
              description: "Exchange the reports are published to, with each client's routing key; it must exist. Empty: the default exchange (the routing key names a queue).",
            }),
            timeoutMs: Int(100, 60_000, 5000, 'How long the connection and one publish (until the broker confirms it) may take.'),
          },
          { additionalProperties: false, default: {} },
        ),
      },
      { additionalProperties: false, default: {} },
    ),
    checks: ChecksSchema,
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
