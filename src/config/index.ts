// The service's configuration: read once from the environment by a composition root, validated,
// typed and frozen. Every variable, its default and its meaning is listed in README.md.
import path from 'node:path';
import { boolean, byteSize, integer, nonEmpty, oneOf, type Parsed, type TrustProxy, trustProxy, url } from './env.js';

export { redact } from './env.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export const TRAINING_BACKENDS = ['auto', 'tensorflow', 'wasm', 'cpu'] as const;
export type TrainingBackend = (typeof TRAINING_BACKENDS)[number];
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface Config {
  readonly logLevel: LogLevel;
  readonly host: string;
  readonly port: number;
  readonly databaseUrl: string;
  readonly redisUrl: string;
  /** Root of uploads and artifacts (absolute). */
  readonly dataDir: string;
  /** Prefix of every BullMQ key, so several deployments can share one Redis. */
  readonly queuePrefix: string;
  readonly workerConcurrency: number;
  /** A PREPARING/RUNNING job whose heartbeat is older than this is taken back from its (lost) worker. */
  readonly jobHeartbeatTimeoutMs: number;
  /** Failed or lost attempts a job may have (hand-overs do not count); the last one fails it with its cause's code. */
  readonly jobMaxAttempts: number;
  /** First delay before retrying an attempt that failed for an infrastructure reason; doubled for each further failure. */
  readonly jobRetryBackoffMs: number;
  /** How long a stopping worker waits for its training processes to checkpoint and hand their jobs over. */
  readonly jobShutdownGraceMs: number;
  /** Mid-epoch checkpoint period of a training job (epoch and phase ends are always checkpointed). */
  readonly jobCheckpointIntervalMs: number;
  /** BullMQ lock of a data-parallel shard job: a worker that dies mid-shard gives it back to the others after about this long. */
  readonly shardLockMs: number;
  /** Largest JSON request body accepted (uploads have their own limit). */
  readonly bodyLimitBytes: number;
  /** How long a draining process waits for in-flight work before it exits anyway. */
  readonly shutdownTimeoutMs: number;
  /** Per-dependency deadline of /readyz checks. */
  readonly readinessTimeoutMs: number;
  /** Serve Swagger UI at /docs. */
  readonly docsEnabled: boolean;
  /** TF.js backend for training: auto = tfjs-node if it loaded, else WASM, else CPU. */
  readonly trainingBackend: TrainingBackend;
  /** Let webhooks target private, loopback and link-local addresses (development and tests only). */
  readonly webhookAllowPrivate: boolean;
  /** Tries per webhook delivery, the first included. */
  readonly webhookMaxAttempts: number;
  /** First retry delay of a webhook delivery; doubled each retry (up to 20% less at random: jitter). */
  readonly webhookBackoffMs: number;
  /** Deadline of one webhook HTTP attempt (connect, request and response). */
  readonly webhookTimeoutMs: number;
  /** Webhook deliveries one worker process sends at once. */
  readonly webhookConcurrency: number;
  /** Largest dataset or model upload (all file parts of one request together). */
  readonly maxUploadBytes: number;
  /** Imported models with more parameters are refused, checked on the declared shapes before allocation. */
  readonly maxModelParams: number;
  /** Requests per API key per rate-limit window on /v1 routes; 0 turns the limit off. */
  readonly rateLimitMax: number;
  readonly rateLimitWindowMs: number;
  /** Requests with a missing or invalid API key one client address may make per window before its /v1 requests get 429; 0 turns the limit off. */
  readonly authFailureMax: number;
  readonly authFailureWindowMs: number;
  /** Proxies whose X-Forwarded-For gives the client address (rate limits by address, request logs). */
  readonly trustProxy: TrustProxy;
  /** Serve Prometheus metrics at GET /metrics (unauthenticated: keep it on the internal network). */
  readonly metricsEnabled: boolean;
  /** Bearer (or HTTP basic password) that opens Bull Board at /admin/queues; null = board not mounted. */
  readonly adminApiKey: string | null;
}

export interface ConfigProblem {
  field: string;
  reason: string;
}

export type ConfigResult = { ok: true; config: Config } | { ok: false; problems: ConfigProblem[] };

interface VarSpec<T> {
  readonly default: string;
  readonly parse: (raw: string) => Parsed<T>;
}

const spec = {
  LOG_LEVEL: { default: 'info', parse: (r) => oneOf(r, LOG_LEVELS) } as VarSpec<LogLevel>,
  HOST: { default: '127.0.0.1', parse: nonEmpty } as VarSpec<string>,
  PORT: { default: '8080', parse: (r) => integer(r, 0, 65535) } as VarSpec<number>,
  DATABASE_URL: {
    default: 'postgres://postgres@127.0.0.1:5432/qat',
    parse: (r) => url(r, ['postgres:', 'postgresql:']),
  } as VarSpec<string>,
  REDIS_URL: { default: 'redis://127.0.0.1:6379', parse: (r) => url(r, ['redis:', 'rediss:']) } as VarSpec<string>,
  DATA_DIR: { default: './data', parse: nonEmpty } as VarSpec<string>,
  QUEUE_PREFIX: {
    default: 'qat',
    parse: (r) => (/^[A-Za-z0-9_-]{1,64}$/.test(r) ? { ok: true, value: r } : { ok: false, reason: `must be 1-64 of A-Z a-z 0-9 _ -, got '${r}'` }),
  } as VarSpec<string>,
  WORKER_CONCURRENCY: { default: '1', parse: (r) => integer(r, 1, 64) } as VarSpec<number>,
  JOB_HEARTBEAT_TIMEOUT_MS: { default: '60000', parse: (r) => integer(r, 1000, 3_600_000) } as VarSpec<number>,
  JOB_MAX_ATTEMPTS: { default: '3', parse: (r) => integer(r, 1, 20) } as VarSpec<number>,
  JOB_RETRY_BACKOFF_MS: { default: '5000', parse: (r) => integer(r, 10, 3_600_000) } as VarSpec<number>,
  JOB_SHUTDOWN_GRACE_MS: { default: '30000', parse: (r) => integer(r, 0, 3_600_000) } as VarSpec<number>,
  JOB_CHECKPOINT_INTERVAL_MS: { default: '60000', parse: (r) => integer(r, 1000, 86_400_000) } as VarSpec<number>,
  SHARD_LOCK_MS: { default: '30000', parse: (r) => integer(r, 1000, 3_600_000) } as VarSpec<number>,
  BODY_LIMIT: { default: '1mb', parse: (r) => byteSize(r, 1024, 2 ** 30) } as VarSpec<number>,
  SHUTDOWN_TIMEOUT_MS: { default: '10000', parse: (r) => integer(r, 100, 600_000) } as VarSpec<number>,
  READINESS_TIMEOUT_MS: { default: '2000', parse: (r) => integer(r, 50, 60_000) } as VarSpec<number>,
  DOCS_ENABLED: { default: 'true', parse: boolean } as VarSpec<boolean>,
  TRAINING_BACKEND: { default: 'auto', parse: (r) => oneOf(r, TRAINING_BACKENDS) } as VarSpec<TrainingBackend>,
  WEBHOOK_ALLOW_PRIVATE: { default: 'false', parse: boolean } as VarSpec<boolean>,
  WEBHOOK_MAX_ATTEMPTS: { default: '8', parse: (r) => integer(r, 1, 30) } as VarSpec<number>,
  WEBHOOK_BACKOFF_MS: { default: '30000', parse: (r) => integer(r, 10, 3_600_000) } as VarSpec<number>,
  WEBHOOK_TIMEOUT_MS: { default: '10000', parse: (r) => integer(r, 100, 60_000) } as VarSpec<number>,
  WEBHOOK_CONCURRENCY: { default: '8', parse: (r) => integer(r, 1, 256) } as VarSpec<number>,
  MAX_UPLOAD_BYTES: { default: '512mb', parse: (r) => byteSize(r, 1024, 2 ** 40) } as VarSpec<number>,
  MAX_MODEL_PARAMS: { default: '50000000', parse: (r) => integer(r, 1, 2_000_000_000) } as VarSpec<number>,
  RATE_LIMIT_MAX: { default: '600', parse: (r) => integer(r, 0, 1_000_000) } as VarSpec<number>,
  RATE_LIMIT_WINDOW_MS: { default: '60000', parse: (r) => integer(r, 100, 86_400_000) } as VarSpec<number>,
  AUTH_FAILURE_MAX: { default: '100', parse: (r) => integer(r, 0, 1_000_000) } as VarSpec<number>,
  AUTH_FAILURE_WINDOW_MS: { default: '60000', parse: (r) => integer(r, 100, 86_400_000) } as VarSpec<number>,
  TRUST_PROXY: { default: 'false', parse: trustProxy } as VarSpec<TrustProxy>,
  METRICS_ENABLED: { default: 'true', parse: boolean } as VarSpec<boolean>,
  ADMIN_API_KEY: {
    default: '',
    parse: (r) =>
      r === '' ? { ok: true, value: null } : /^[\x21-\x7e]{16,256}$/.test(r) ? { ok: true, value: r } : { ok: false, reason: 'must be 16-256 printable characters without spaces (value not shown)' },
  } as VarSpec<string | null>,
} as const;

export type ConfigVariable = keyof typeof spec;
export const CONFIG_VARIABLES = Object.keys(spec) as ConfigVariable[];

/** The documented default of each variable (README lists the same table). */
export function configDefaults(): Record<ConfigVariable, string> {
  return Object.fromEntries(CONFIG_VARIABLES.map((k) => [k, spec[k].default])) as Record<ConfigVariable, string>;
}

/** Parses every variable and reports all invalid ones; unset or empty variables take their default. */
export function parseConfig(env: Readonly<Record<string, string | undefined>>, cwd = process.cwd()): ConfigResult {
  const problems: ConfigProblem[] = [];
  const values: Record<string, unknown> = {};
  for (const name of CONFIG_VARIABLES) {
    const raw = env[name];
    const parsed = spec[name].parse(raw === undefined || raw === '' ? spec[name].default : raw) as Parsed<unknown>;
    if (parsed.ok) values[name] = parsed.value;
    else problems.push({ field: name, reason: parsed.reason });
  }
  if (problems.length > 0) return { ok: false, problems };
  const v = values as { [K in ConfigVariable]: ReturnType<(typeof spec)[K]['parse']> extends Parsed<infer T> ? T : never };
  const config: Config = {
    logLevel: v.LOG_LEVEL,
    host: v.HOST,
    port: v.PORT,
    databaseUrl: v.DATABASE_URL,
    redisUrl: v.REDIS_URL,
    dataDir: path.resolve(cwd, v.DATA_DIR),
    queuePrefix: v.QUEUE_PREFIX,
    workerConcurrency: v.WORKER_CONCURRENCY,
    jobHeartbeatTimeoutMs: v.JOB_HEARTBEAT_TIMEOUT_MS,
    jobMaxAttempts: v.JOB_MAX_ATTEMPTS,
    jobRetryBackoffMs: v.JOB_RETRY_BACKOFF_MS,
    jobShutdownGraceMs: v.JOB_SHUTDOWN_GRACE_MS,
    jobCheckpointIntervalMs: v.JOB_CHECKPOINT_INTERVAL_MS,
    shardLockMs: v.SHARD_LOCK_MS,
    bodyLimitBytes: v.BODY_LIMIT,
    shutdownTimeoutMs: v.SHUTDOWN_TIMEOUT_MS,
    readinessTimeoutMs: v.READINESS_TIMEOUT_MS,
    docsEnabled: v.DOCS_ENABLED,
    trainingBackend: v.TRAINING_BACKEND,
    webhookAllowPrivate: v.WEBHOOK_ALLOW_PRIVATE,
    webhookMaxAttempts: v.WEBHOOK_MAX_ATTEMPTS,
    webhookBackoffMs: v.WEBHOOK_BACKOFF_MS,
    webhookTimeoutMs: v.WEBHOOK_TIMEOUT_MS,
    webhookConcurrency: v.WEBHOOK_CONCURRENCY,
    maxUploadBytes: v.MAX_UPLOAD_BYTES,
    maxModelParams: v.MAX_MODEL_PARAMS,
    rateLimitMax: v.RATE_LIMIT_MAX,
    rateLimitWindowMs: v.RATE_LIMIT_WINDOW_MS,
    authFailureMax: v.AUTH_FAILURE_MAX,
    authFailureWindowMs: v.AUTH_FAILURE_WINDOW_MS,
    trustProxy: v.TRUST_PROXY,
    metricsEnabled: v.METRICS_ENABLED,
    adminApiKey: v.ADMIN_API_KEY,
  };
  return { ok: true, config: Object.freeze(config) };
}
