// API throughput benchmark: the production app (createApiRuntime + buildServer) listening on
// 127.0.0.1:0 against the local Postgres `qat` database (DATABASE_URL, default from config) and Redis,
// with its own QUEUE_PREFIX and a temporary DATA_DIR, the rate limit off (RATE_LIMIT_MAX=0) and logs
// silent. autocannon (in one worker thread, so the load generator has its own event loop) measures, for
// --duration seconds each at --connections concurrent connections:
//   1. healthz        GET /healthz — no auth, no database: the baseline of this run
//   2. status         GET /v1/jobs/{id} of a queued job — bearer-key auth + Postgres reads
//   3. healthz+worker GET /healthz while `qat worker` trains a long job (wine, 1000 float + 1000 QAT
//                     epochs, batch 4; the API caps each at 1000) in a CHILD process, so this
//                     process only serves (2 cores: the worker takes one): the baseline under training
//   4. status+worker  GET /v1/jobs/{id} of that job while it trains (the target below)
//   5. status+worker, 64 jobs  the connections cycle through 64 jobs' ids, so concurrent requests
//                     rarely share one job's read (GET /v1/jobs/{id} batches identical reads)
//   6. submit+worker  POST /v1/jobs (no Idempotency-Key), while the worker still trains
// Prints one JSON line per measurement, then a table with ratios against the baseline and the target:
// ≥ 3,000 status requests/s with p99 < 20 ms while a worker trains. Cleans up: cancels the long job,
// stops the worker (SIGTERM), marks the submitted jobs CANCELLED, closes the app, deletes the prefix's
// Redis keys and the temporary directory.
//
//   npx tsx bench/api.ts [--duration 10] [--connections 32] [--worker-root DIR]
//
// --worker-root runs the training worker from another checkout of the project (e.g. a stable snapshot
// made with `git archive`, while this tree is being edited); the API measured is always this tree's.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { buildServer } from '../src/api/app.js';
import { createApiRuntime, loadConfig } from '../src/cli/runtime.js';
import { apiKeyRepository } from '../src/db/apiKeyRepository.js';
import { createDb } from '../src/db/client.js';
import { jobRepository } from '../src/db/jobRepository.js';
import { closeRedis, createRedis } from '../src/queue/connection.js';
import { ApiKeyService } from '../src/services/apiKeys.js';

// autocannon ships no type declarations; the part of its programmatic API used here.
interface Histogram {
  average: number;
  p50: number;
  p99: number;
}
interface AutocannonResult {
  requests: Histogram & { total: number };
  latency: Histogram & { p99: number };
  errors: number;
  timeouts: number;
  non2xx: number;
  '2xx': number;
  duration: number;
}
interface AutocannonOptions {
  url: string;
  connections: number;
  duration: number;
  workers?: number;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  requests?: { method: string; path: string }[];
}
const autocannon = createRequire(import.meta.url)('autocannon') as (opts: AutocannonOptions) => Promise<AutocannonResult>;

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '32' },
    'worker-root': { type: 'string' },
  },
});
const DURATION = Number(args.duration);
const CONNECTIONS = Number(args.connections);
const TARGET_RPS = 3000;
const TARGET_P99_MS = 20;

const prefix = `qat-bench-api-${process.pid}`;
const dataDir = mkdtempSync(path.join(tmpdir(), 'qat-bench-api-'));
const env = {
  ...process.env,
  QUEUE_PREFIX: prefix,
  DATA_DIR: dataDir,
  RATE_LIMIT_MAX: '0',
  LOG_LEVEL: 'silent',
  HOST: '127.0.0.1',
  PORT: '0',
};
const config = loadConfig(env);

interface Row {
  name: string;
  requests_per_s: number;
  p50_ms: number;
  p99_ms: number;
  mean_ms: number;
  total: number;
  errors: number;
  non_2xx: number;
}

async function measure(name: string, opts: Omit<AutocannonOptions, 'connections' | 'duration'>): Promise<Row> {
  const r = await autocannon({ connections: CONNECTIONS, duration: DURATION, workers: 1, ...opts });
  const row: Row = {
    name,
    requests_per_s: Math.round(r.requests.total / r.duration),
    p50_ms: r.latency.p50,
    p99_ms: r.latency.p99,
    mean_ms: Number(r.latency.average.toFixed(2)),
    total: r.requests.total,
    errors: r.errors + r.timeouts,
    non_2xx: r.non2xx,
  };
  process.stdout.write(`${JSON.stringify(row)}\n`);
  return row;
}

async function main(): Promise<void> {
  const runtime = createApiRuntime(config);
  const app = await buildServer(runtime.deps, { logger: false });
  app.addHook('onClose', async () => runtime.close());
  const db = createDb(config.databaseUrl, { poolSize: 1 });
  let worker: ChildProcess | undefined;
  let tenantId: string | undefined;
  let longJob: string | undefined;
  let base = '';
  let headers: Record<string, string> = {};
  try {
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    if (!address || typeof address === 'string') throw new Error('no TCP address');
    base = `http://127.0.0.1:${address.port}`;

    const created = await new ApiKeyService(apiKeyRepository(db)).createForTenantName(`bench-api-${Date.now().toString(36)}`);
    tenantId = created.tenantId;
    headers = { authorization: `Bearer ${created.key}` };
    const call = async (method: string, url: string, body?: unknown): Promise<Record<string, unknown>> => {
      const res = await fetch(`${base}${url}`, {
        method,
        headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const json = (await res.json()) as Record<string, unknown>;
      if (res.status >= 300) throw new Error(`${method} ${url}: ${res.status} ${JSON.stringify(json)}`);
      return json;
    };

    const form = new FormData();
    form.append('file', new Blob([await readFile('datasets/builtin/wine_data.csv')]), 'wine.csv');
    form.append('skip_rows', '1');
    const ds = await fetch(`${base}/v1/datasets`, { method: 'POST', headers, body: form });
    const dataset = (await ds.json()) as { id: string };
    if (ds.status !== 201) throw new Error(`POST /v1/datasets: ${ds.status} ${JSON.stringify(dataset)}`);
    const model = (await call('POST', '/v1/models', { zoo: 'mlp' })) as { id: string };
    const inputs = { dataset_id: dataset.id, model_id: model.id };
    // Queued before any worker runs: the job read by the status measurements, later trained. The API
    // caps epochs at 1000, so 1000 float + 1000 QAT epochs stand in for "2000 epochs" (it outlasts the run).
    longJob = (await call('POST', '/v1/jobs', { ...inputs, config: { epochs: 1000, qat_epochs: 1000, batch_size: 4 } })).id as string;
    const statusUrl = `${base}/v1/jobs/${longJob}`;
    // Jobs only to be read: stored as submitted but never queued, so the worker never sees them.
    const jobRows = jobRepository(db);
    const spread: string[] = [];
    for (let i = 0; i < 64; i++) spread.push((await jobRows.create({ tenantId: tenantId!, modelId: model.id, datasetId: dataset.id, config: { epochs: 1, seed: i } })).job.id);

    const rows: Row[] = [];
    rows.push(await measure('healthz', { url: `${base}/healthz` }));
    rows.push(await measure('status', { url: statusUrl, headers }));

    worker = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'worker'], {
      ...(args['worker-root'] ? { cwd: path.resolve(args['worker-root']) } : {}),
      env: { ...env, TRAINING_BACKEND: 'wasm' },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const until = Date.now() + 180_000; // generous: a busy machine makes the worker slow to start
    for (;;) {
      const job = await call('GET', `/v1/jobs/${longJob}`);
      if (job.status === 'RUNNING' && (job.progress as { epoch?: number }).epoch) break;
      if (['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(job.status as string) || Date.now() > until) {
        throw new Error(`the long job did not start training: ${JSON.stringify({ status: job.status, error: job.error })}`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    rows.push(await measure('healthz+worker', { url: `${base}/healthz` }));
    rows.push(await measure('status+worker', { url: statusUrl, headers }));
    rows.push(await measure('status+worker, 64 jobs', { url: base, headers, requests: spread.map((id) => ({ method: 'GET', path: `/v1/jobs/${id}` })) }));
    rows.push(
      await measure('submit+worker', {
        url: `${base}/v1/jobs`,
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify({ ...inputs, config: { epochs: 1 } }),
      }),
    );
    const after = await call('GET', `/v1/jobs/${longJob}`);
    if (after.status !== 'RUNNING') throw new Error(`the worker stopped training during the measurements: ${after.status}`);

    const baseline = rows[0]!.requests_per_s;
    console.log(`\n${CONNECTIONS} connections, ${DURATION} s each; ratio = requests/s ÷ healthz requests/s (same run)`);
    console.table(rows.map((r) => ({ ...r, vs_healthz: Number((r.requests_per_s / baseline).toFixed(3)) })));
    const target = rows.find((r) => r.name === 'status+worker')!;
    const pass = target.requests_per_s >= TARGET_RPS && target.p99_ms < TARGET_P99_MS && target.errors === 0 && target.non_2xx === 0;
    console.log(
      `target: status while a worker trains ≥ ${TARGET_RPS} req/s with p99 < ${TARGET_P99_MS} ms → ` +
        `${target.requests_per_s} req/s, p99 ${target.p99_ms} ms: ${pass ? 'PASS' : 'FAIL'}`,
    );
  } finally {
    if (longJob && base) await fetch(`${base}/v1/jobs/${longJob}/cancel`, { method: 'POST', headers }).catch(() => undefined);
    if (worker && worker.exitCode === null) {
      const exited = new Promise((r) => worker!.once('exit', r));
      worker.kill('SIGTERM');
      const timer = setTimeout(() => worker!.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(timer);
    }
    // The submitted jobs' queue is deleted below; do not leave them QUEUED in the database.
    if (tenantId) {
      await db.job.updateMany({ where: { tenantId, status: { in: ['QUEUED', 'PREPARING', 'RUNNING', 'CANCELLING'] } }, data: { status: 'CANCELLED', finishedAt: new Date() } });
    }
    await app.close();
    await db.$disconnect();
    const redis = createRedis(config.redisUrl, { role: 'producer' });
    await redis.connect();
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
    await closeRedis(redis);
    await rm(dataDir, { recursive: true, force: true });
  }
}

await main();
