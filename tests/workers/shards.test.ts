// Data-parallel rounds over BullMQ on a real Redis, with states in a real artifact store: the same
// bits as the in-process rounds; fewer workers than shards; a failed shard retried alone; a cancel
// stopping the round; and a shard worker process killed mid-round with the job still ending on the
// undisturbed result.
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CompareDataParallel, type CompareOptions, ComparisonAbortedError, compareQuantization, type QuantReport } from '../../src/core/pipeline/compare.js';
import { localDataParallel } from '../../src/core/pipeline/localDataParallel.js';
import { selectBackend } from '../../src/engine/backend.js';
import { closeRedis, createRedis } from '../../src/queue/connection.js';
import { QUEUE_NAMES } from '../../src/queue/names.js';
import { type RoundFlows, roundFlows } from '../../src/queue/roundFlows.js';
import type { BlobStore } from '../../src/storage/blobStore.js';
import { LocalDiskStore } from '../../src/storage/localDiskStore.js';
import { distributedDataParallel } from '../../src/workers/shards/distributedRunner.js';
import { type RunningShardWorkers, startShardWorkers } from '../../src/workers/shards/shardWorkers.js';
import { bitsEqual, weightsOf } from '../core/train/helpers.js';
import { uniqueName } from '../support/app.js';
import { TEST_REDIS_URL, tempDir } from '../support/env.js';
import { digits, digitsContext, digitsMlp, digitsTrain } from './fixtures/digitsShardContext.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const options: CompareOptions = {
  task: 'classification',
  floatEpochs: 1,
  qatEpochs: 1,
  batchSize: 32,
  optimizer: { kind: 'adam' },
  lr: 2e-3,
  qatLr: 1e-4,
  seed: 0,
  calibration: { samples: 200, observer: 'minmax' },
};
const merge = { activationObserver: 'ema' } as const;
const silent = pino({ level: 'silent' });

async function compare(dataParallel: CompareDataParallel, extra: Partial<CompareOptions> = {}): Promise<QuantReport> {
  const model = digitsMlp();
  try {
    return await compareQuantization(model, digitsTrain, digits.test, { ...options, dataParallel, ...extra });
  } finally {
    model.dispose();
  }
}

describe('data-parallel rounds over BullMQ', () => {
  const redis = createRedis(TEST_REDIS_URL, { role: 'worker' });
  const dir = tempDir();
  const store = new LocalDiskStore(dir);
  let prefix: string;
  let flows: RoundFlows;
  let reference: QuantReport;
  const workers: RunningShardWorkers[] = [];
  /** Worker processes this file started: killed at the end whatever happened. */
  const spawned: ChildProcess[] = [];
  const startWorkers = (n: number, s: BlobStore = store) => {
    for (let i = 0; i < n; i++) workers.push(startShardWorkers({ store: s, load: digitsContext, isLive: async () => true, logger: silent, lockDurationMs: 3000 }, { connection: redis, prefix }));
  };
  const stopWorkers = async () => {
    await Promise.all(workers.splice(0).map((w) => w.close()));
  };

  beforeAll(async () => {
    await selectBackend('wasm');
    prefix = uniqueName('shards');
    flows = await roundFlows({ connection: redis, prefix });
    reference = await compare(localDataParallel({ shards: 2, syncEvery: 2, merge }));
  }, 60_000);

  afterAll(async () => {
    for (const c of spawned) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await stopWorkers();
    await flows.close();
    for (const name of [QUEUE_NAMES.shards, QUEUE_NAMES.rounds]) {
      const q = new Queue(name, { connection: redis, prefix });
      await q.obliterate({ force: true });
      await q.close();
    }
    reference.qatModel.dispose();
    await closeRedis(redis);
  });

  const distributed = (jobId: string, o: { shards?: number; signal?: AbortSignal; s?: BlobStore } = {}) =>
    distributedDataParallel({ jobId, attempt: 1, shards: o.shards ?? 2, syncEvery: 2, store: o.s ?? store, flows, merge, ...(o.signal ? { signal: o.signal } : {}) });

  it('give the same bits as in-process rounds, moving states as files it then removes', async () => {
    startWorkers(2);
    const result = await compare(distributed('job-a'));
    expect(bitsEqual(weightsOf(result.qatModel), weightsOf(reference.qatModel))).toBe(true);
    expect(result.qat.int8Reference).toEqual(reference.qat.int8Reference);
    expect(result.float.training.history).toEqual(reference.float.training.history);
    expect(await store.list('jobs/job-a/')).toEqual([]);
    result.qatModel.dispose();
    await stopWorkers();
  }, 90_000);

  it('finish with fewer workers than shards (children wait their turn)', async () => {
    startWorkers(1);
    const four = await compare(distributed('job-b', { shards: 4 }));
    const local = await compare(localDataParallel({ shards: 4, syncEvery: 2, merge }));
    expect(bitsEqual(weightsOf(four.qatModel), weightsOf(local.qatModel))).toBe(true);
    four.qatModel.dispose();
    local.qatModel.dispose();
    await stopWorkers();
  }, 90_000);

  it('retry a failed shard alone, and still end on the same bits', async () => {
    // The store refuses shard 1's state of float round 3 once: that shard job fails and is retried.
    const puts = new Map<string, number>();
    let failed = false;
    const flaky: BlobStore = Object.create(store, {
      put: {
        value: async (key: string, ...rest: unknown[]) => {
          puts.set(key, (puts.get(key) ?? 0) + 1);
          if (!failed && key.endsWith('float-r3/shard-1.bin')) {
            failed = true;
            throw new Error('disk hiccup');
          }
          return (store.put as (...a: unknown[]) => Promise<unknown>).call(store, key, ...rest);
        },
      },
    });
    startWorkers(2, flaky);
    const result = await compare(distributed('job-c', { s: flaky }));
    expect(failed).toBe(true);
    expect(puts.get('jobs/job-c/rounds/a1-float-r3/shard-1.bin')).toBe(2);
    expect(puts.get('jobs/job-c/rounds/a1-float-r3/shard-0.bin')).toBe(1);
    expect(bitsEqual(weightsOf(result.qatModel), weightsOf(reference.qatModel))).toBe(true);
    result.qatModel.dispose();
    await stopWorkers();
  }, 90_000);

  it('stop on cancel: the comparison ends as aborted and the queued shards are dropped', async () => {
    // No worker: the round waits; the abort must still end it.
    const abort = new AbortController();
    const run = compare(distributed('job-d', { signal: abort.signal }), { signal: abort.signal });
    await new Promise((r) => setTimeout(r, 500));
    abort.abort();
    await expect(run).rejects.toBeInstanceOf(ComparisonAbortedError);
    const shards = new Queue(QUEUE_NAMES.shards, { connection: redis, prefix });
    await expect.poll(() => shards.getWaitingCount(), { timeout: 5000 }).toBe(0);
    await shards.close();
  }, 30_000);

  it('survive a shard worker process killed with SIGKILL mid-round: the job ends on the undisturbed bits', async () => {
    const spawnWorker = () =>
      new Promise<ChildProcess>((resolve, reject) => {
        const child = spawn(process.execPath, ['--import', 'tsx', 'tests/workers/fixtures/shardWorker.ts'], {
          cwd: ROOT,
          env: { ...process.env, REDIS_URL: TEST_REDIS_URL, QUEUE_PREFIX: prefix, DATA_DIR: dir, LOCK_MS: '3000' },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        child.stdout!.on('data', (c: Buffer) => {
          out += c.toString();
          if (out.includes('ready')) resolve(child);
        });
        child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
        child.on('exit', (code) => reject(new Error(`shard worker exited (${code}): ${out}`)));
      });
    const [a, b] = await Promise.all([spawnWorker(), spawnWorker()]);
    spawned.push(a, b);
    const shards = new Queue(QUEUE_NAMES.shards, { connection: redis, prefix });
    let killedDuring = -1;
    let rounds = 0;
    const result = await compare(distributed('job-e'), {
      callbacks: {
        onStepEnd: async () => {
          if (++rounds !== 3) return;
          // Round 3 has just been merged; kill worker a once it holds a shard of round 4.
          void (async () => {
            const until = Date.now() + 10_000;
            while (Date.now() < until && (await shards.getActiveCount()) < 2) await new Promise((r) => setTimeout(r, 5));
            killedDuring = rounds;
            a.kill('SIGKILL');
          })();
        },
      },
    });
    expect(killedDuring).toBeGreaterThanOrEqual(3);
    expect(a.signalCode).toBe('SIGKILL');
    expect(bitsEqual(weightsOf(result.qatModel), weightsOf(reference.qatModel))).toBe(true);
    expect(result.qat.int8Reference).toEqual(reference.qat.int8Reference);
    result.qatModel.dispose();
    b.kill('SIGTERM');
    await shards.close();
  }, 120_000);
});
