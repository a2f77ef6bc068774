// The `qat` command. Each subcommand is a composition root for its process.
import { hostname } from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { pino, type Logger } from 'pino';
import { buildServer } from '../api/app.js';
import { redact } from '../config/index.js';
import { ValidationError } from '../errors/index.js';
import { apiKeyRepository } from '../db/apiKeyRepository.js';
import { createDb, pingDb } from '../db/client.js';
import { migrate } from '../db/migrate.js';
import { closeRedis, createRedis, pingRedis } from '../queue/connection.js';
import { listWorkers } from '../queue/workerRegistry.js';
import { ApiKeyService } from '../services/apiKeys.js';
import { selectBackend } from '../engine/backend.js';
import { startWorkerProcess } from '../workers/workerProcess.js';
import { addRunConfigFlags, runConfigFromFlags } from './run/configFlags.js';
import { createApiRuntime, loadConfig, VERSION, webhookWorkerOptions } from './runtime.js';
import { onShutdownSignal } from './shutdown.js';

const logger = (level: string): Logger =>
  pino({ level, base: { pid: process.pid, hostname: hostname() }, redact: { paths: ['req.headers.authorization'], censor: '[redacted]' } });

export function buildProgram(): Command {
  const program = new Command('qat')
    .description('Quantization-aware training service: API server, workers and operator tools.')
    .version(VERSION)
    .showHelpAfterError()
    .addHelpText('after', '\nConfiguration comes from environment variables (see README.md, "Configuration").');

  program
    .command('serve')
    .description('Run the HTTP API (listens on HOST:PORT; drains in-flight requests on SIGTERM/SIGINT).')
    .action(async () => {
      const config = loadConfig();
      const log = logger(config.logLevel);
      const runtime = createApiRuntime(config, log);
      const server = await buildServer(runtime.deps, { loggerInstance: log });
      server.addHook('onClose', async () => runtime.close());
      await server.listen({ host: config.host, port: config.port });
      onShutdownSignal(log, config.shutdownTimeoutMs, () => server.close());
    });

  program
    .command('worker')
    .description('Run a queue worker (on SIGTERM/SIGINT it hands running jobs over to other workers, drains and deregisters).')
    .option('--healthcheck', 'exit 0 if a worker on this host is registered and beating, 1 otherwise (for container health checks)')
    .action(async (opts: { healthcheck?: boolean }) => {
      const config = loadConfig();
      if (opts.healthcheck) {
        const redis = createRedis(config.redisUrl, { role: 'producer' });
        try {
          await pingRedis(redis);
          const mine = (await listWorkers(redis, config.queuePrefix)).filter((w) => w.host === hostname());
          process.stdout.write(`${JSON.stringify(mine)}\n`);
          process.exitCode = mine.length > 0 ? 0 : 1;
        } finally {
          await closeRedis(redis);
        }
        return;
      }
      const log = logger(config.logLevel);
      const training = await selectBackend(config.trainingBackend);
      // Training slots, webhook deliveries and heartbeats share the pool.
      const db = createDb(config.databaseUrl, { poolSize: config.workerConcurrency + 4 });
      const { workerTraining } = await import('./workerRuntime.js');
      const trainingRuntime = workerTraining(config, db, training.backend, log);
      const worker = await startWorkerProcess(
        {
          redisUrl: config.redisUrl,
          queuePrefix: config.queuePrefix,
          concurrency: config.workerConcurrency,
          training,
          pingDatabase: () => pingDb(db),
          closeDatabase: () => db.$disconnect(),
          webhooks: webhookWorkerOptions(config, db),
          trainer: trainingRuntime.trainer,
          reaper: trainingRuntime.reaper,
          shards: trainingRuntime.shards,
        },
        log,
      ).catch(async (err: unknown) => {
        await trainingRuntime.close();
        throw err;
      });
      // Running training attempts get JOB_SHUTDOWN_GRACE_MS to hand their jobs over, the rest SHUTDOWN_TIMEOUT_MS.
      onShutdownSignal(log, config.jobShutdownGraceMs + config.shutdownTimeoutMs, async () => {
        await worker.stop();
        await trainingRuntime.close();
      });
    });

  program
    .command('migrate')
    .description('Create the database if missing and apply committed migrations (offline; idempotent).')
    .action(async () => {
      const config = loadConfig();
      const result = await migrate(config.databaseUrl);
      process.stdout.write(
        `${JSON.stringify({ database: redact(config.databaseUrl), created_database: result.createdDatabase, applied: result.applied, already_applied: result.alreadyApplied })}\n`,
      );
    });

  const run = program
    .command('run')
    .description(
      'Run the whole QAT pipeline in-process (no Redis or Postgres): float training, PTQ baselines, QAT, int8 conversion and integer-reference evaluation; writes report.json and the artifacts to --out. The run options are the same as a job\'s `config` over HTTP, in kebab-case.',
    )
    .requiredOption('--data <path>', 'a .csv/.tsv, .jsonl or .npz file, a folder of IDX files (MNIST layout), a .zip/.tar/.tar.gz/.tgz of one of those, or builtin:NAME (mnist, iris, wine, breast-cancer, digits)')
    .option('--test-data <path>', 'a separate test set (else a stratified split of --data)')
    .option('--model <model>', 'zoo:mlp, zoo:cnn or zoo:ds-cnn, or a TF.js model.json / Keras JSON file', 'zoo:mlp')
    .option('--out <dir>', 'output folder', 'qat-out')
    .option('--backend <name>', 'TF.js backend: auto, tensorflow, wasm or cpu', 'auto')
    .option('--weights-manifest <file>', 'for a Keras JSON --model: a TF.js weights manifest (weightsManifest JSON) whose weight files lie next to it')
    .option('--max-params <n>', 'refuse an imported model with more parameters (checked before anything is allocated)', '50000000')
    .option('--json', 'print report.json to stdout instead of the summary');
  addRunConfigFlags(run).action(async (opts: Record<string, unknown>) => {
    const { runQat } = await import('./run/runCommand.js');
    const { formatSummary } = await import('./run/summary.js');
    const backends = ['auto', 'tensorflow', 'wasm', 'cpu'] as const;
    const backend = opts.backend as string;
    if (!(backends as readonly string[]).includes(backend)) throw new ValidationError([{ field: '--backend', reason: `must be one of ${backends.join(', ')}, got '${backend}'` }]);
    const config = runConfigFromFlags(opts);
    const positiveInteger = (field: string, v: string) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) throw new ValidationError([{ field, reason: `must be a positive integer, got '${v}'` }]);
      return n;
    };
    const report = await runQat(
      {
        data: opts.data as string,
        ...(opts.testData ? { testData: opts.testData as string } : {}),
        model: opts.model as string,
        out: opts.out as string,
        backend: backend as (typeof backends)[number],
        maxParams: positiveInteger('--max-params', opts.maxParams as string),
        ...(opts.weightsManifest ? { weightsManifest: opts.weightsManifest as string } : {}),
      },
      config,
      { log: (line) => process.stderr.write(`${line}\n`), tty: process.stderr.isTTY === true },
    );
    process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatSummary(report)}\nwrote ${path.join(opts.out as string, 'report.json')}\n`);
  });

  const keys = program.command('keys').description('Manage API keys.');
  keys
    .command('create')
    .description('Create an API key for a tenant (the tenant is created on first use). The key is printed once; store it.')
    .requiredOption('--tenant <name>', 'tenant name: a-z 0-9 . _ -, up to 63 characters')
    .option('--name <label>', 'what the key is for')
    .action(async (opts: { tenant: string; name?: string }) => {
      const config = loadConfig();
      const db = createDb(config.databaseUrl, { poolSize: 1 });
      try {
        const created = await new ApiKeyService(apiKeyRepository(db)).createForTenantName(opts.tenant, opts.name ?? null);
        process.stderr.write(`created key ${created.prefix} for tenant ${created.tenantName} (${created.tenantId}); it is shown only once:\n`);
        process.stdout.write(`${created.key}\n`);
      } finally {
        await db.$disconnect();
      }
    });

  return program;
}
