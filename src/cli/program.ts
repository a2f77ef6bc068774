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
import { createApiRuntime, loadConfig, VERSION } from './runtime.js';
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
    .description('Run a queue worker (drains and deregisters on SIGTERM/SIGINT).')
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
      const db = createDb(config.databaseUrl, { poolSize: config.workerConcurrency + 2 });
      const worker = await startWorkerProcess(
        {
          redisUrl: config.redisUrl,
          queuePrefix: config.queuePrefix,
          concurrency: config.workerConcurrency,
          training,
          pingDatabase: () => pingDb(db),
          closeDatabase: () => db.$disconnect(),
        },
        log,
      );
      onShutdownSignal(log, config.shutdownTimeoutMs, () => worker.stop());
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

  program
    .command('run')
    .description('Run the whole QAT pipeline in-process (no Redis or Postgres): float training, PTQ baselines, QAT, int8 conversion and integer-reference evaluation; writes report.json and the QAT model to --out.')
    .requiredOption('--data <path>', 'a folder of IDX files (MNIST layout), or a .csv/.tsv, .jsonl or .npz file')
    .option('--test-data <path>', 'a separate test set (else a stratified split of --data)')
    .option('--test-fraction <f>', 'test split when --test-data is absent', '0.2')
    .option('--label-column <name|index>', 'CSV label column (default: the last)')
    .option('--skip-rows <n>', 'CSV lines to skip before the header or data')
    .option('--task <task>', 'classification or regression (default: inferred)')
    .option('--model <name>', 'zoo model: mlp, cnn or ds-cnn', 'mlp')
    .option('--width <w>', 'width multiplier of the zoo model', '1')
    .option('--epochs <n>', 'float training epochs', '3')
    .option('--qat-epochs <n>', 'QAT fine-tuning epochs', '2')
    .option('--batch-size <n>', 'batch size', '128')
    .option('--lr <lr>', 'float learning rate (Adam)', '0.001')
    .option('--qat-lr <lr>', 'QAT learning rate (Adam)', '0.0001')
    .option('--weight-bits <b>', 'weight bits (2-8)', '8')
    .option('--observer <kind>', 'PTQ calibration observer: minmax, ema, percentile or mse', 'minmax')
    .option('--calibration-samples <n>', 'training samples for PTQ calibration', '1000')
    .option('--seed <n>', 'seed of initialisation, shuffles and splits', '0')
    .option('--backend <name>', 'TF.js backend: auto, tensorflow, wasm or cpu', 'auto')
    .option('--out <dir>', 'output folder', 'qat-out')
    .action(async (opts: Record<string, string>) => {
      const { runQat } = await import('./run/runCommand.js');
      const num = (name: string, v: string | undefined, integer = false): number => {
        const n = Number(v);
        if (v === undefined || !Number.isFinite(n) || (integer && !Number.isInteger(n))) {
          throw new ValidationError([{ field: name, reason: `must be ${integer ? 'an integer' : 'a number'}, got '${v}'` }]);
        }
        return n;
      };
      const oneOf = <T extends string>(name: string, v: string, allowed: readonly T[]): T => {
        if (!(allowed as readonly string[]).includes(v)) throw new ValidationError([{ field: name, reason: `must be one of ${allowed.join(', ')}, got '${v}'` }]);
        return v as T;
      };
      const summary = await runQat(
        {
          data: opts.data!,
          ...(opts.testData ? { testData: opts.testData } : {}),
          ...(opts.labelColumn !== undefined ? { labelColumn: opts.labelColumn } : {}),
          ...(opts.skipRows !== undefined ? { skipRows: num('skip-rows', opts.skipRows, true) } : {}),
          ...(opts.task ? { task: oneOf('task', opts.task, ['classification', 'regression'] as const) } : {}),
          testFraction: num('test-fraction', opts.testFraction),
          seed: num('seed', opts.seed, true),
          model: oneOf('model', opts.model!, ['mlp', 'cnn', 'ds-cnn'] as const),
          width: num('width', opts.width),
          epochs: num('epochs', opts.epochs, true),
          qatEpochs: num('qat-epochs', opts.qatEpochs, true),
          batchSize: num('batch-size', opts.batchSize, true),
          lr: num('lr', opts.lr),
          qatLr: num('qat-lr', opts.qatLr),
          weightBits: num('weight-bits', opts.weightBits, true),
          observer: oneOf('observer', opts.observer!, ['minmax', 'ema', 'percentile', 'mse'] as const),
          calibrationSamples: num('calibration-samples', opts.calibrationSamples, true),
          backend: oneOf('backend', opts.backend!, ['auto', 'tensorflow', 'wasm', 'cpu'] as const),
          out: opts.out!,
        },
        (line) => process.stderr.write(`${line}\n`),
      );
      const a = summary.accuracy as Record<string, { accuracy?: number; mse?: number }>;
      const fmt = (m: { accuracy?: number; mse?: number }) => (m.accuracy !== undefined ? `${(m.accuracy * 100).toFixed(2)}%` : `mse ${m.mse?.toFixed(4)}`);
      process.stdout.write(
        `float ${fmt(a.float!)} | PTQ weights-only ${fmt(a.ptq_dynamic!)} | PTQ static ${fmt(a.ptq_static!)} | QAT ${fmt(a.qat!)} | int8 reference ${fmt(a.int8_reference!)}\n` +
          `wrote ${path.join(opts.out!, 'report.json')} and ${path.join(opts.out!, 'qat-model')}\n`,
      );
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
