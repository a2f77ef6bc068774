// Data-parallel scaling on this machine: QAT training of the zoo mlp and cnn on MNIST, one process
// (plain Trainer) against 1 and 2 shard worker processes running BullMQ rounds, at one or more
// sync_every values. Prints samples/s, speed-up, scaling efficiency, time per round spent outside
// training (synchronisation), and a projection of the efficiency at 8 and 32 workers from the measured
// per-round costs.
//   npm run bench:ddp -- [--model mlp,cnn] [--train 8000] [--steps 192] [--batch 128] [--sync-every 32] [--workers 1,2] [--repeat 3]
// (--sync-every defaults to the service's own default, so the plain command measures what jobs run.)
//   npm run bench:ddp -- --convergence [--model cnn] [--sync-every 16,32,64]
// --repeat R (default 3) runs the worker configurations R times, interleaved, and reports each row's median run (this
// machine's timings move by ±20% from one minute to the next; interleaving keeps both sides under the same).
// --convergence instead trains the whole comparison (3 float + 2 QAT epochs, MNIST 8,000 / 2,000) in
// one process and in 2 shards (rounds in this process: the same arithmetic as over BullMQ) and prints
// the int8 accuracies, the convergence side of choosing sync_every.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Queue } from 'bullmq';
import { compareQuantization } from '../src/core/pipeline/compare.js';
import { localDataParallel } from '../src/core/pipeline/localDataParallel.js';
import { prepareQat } from '../src/core/qat/prepare.js';
import { RoundTrainer, shardTrainerSpec } from '../src/core/train/dataParallel.js';
import type { TrainerOptions } from '../src/core/train/trainer.js';
import { selectBackend } from '../src/engine/backend.js';
import { closeRedis, createRedis } from '../src/queue/connection.js';
import { QUEUE_NAMES } from '../src/queue/names.js';
import { roundFlows } from '../src/queue/roundFlows.js';
import { resolveRunConfig } from '../src/services/runConfig.js';
import { LocalDiskStore } from '../src/storage/localDiskStore.js';
import { distributedDataParallel, type RoundStats } from '../src/workers/shards/distributedRunner.js';
import { benchData, benchModel, QAT, timePlainTraining } from './ddpWorker.js';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'mlp,cnn' },
    train: { type: 'string', default: '8000' },
    steps: { type: 'string', default: '192' },
    batch: { type: 'string', default: '128' },
    'sync-every': { type: 'string', default: String(resolveRunConfig({}).sync_every) },
    workers: { type: 'string', default: '1,2' },
    convergence: { type: 'boolean', default: false },
    repeat: { type: 'string', default: '3' },
  },
});
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TRAIN = Number(values.train);
const STEPS = Number(values.steps);
const BATCH = Number(values.batch);
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

await selectBackend('wasm');
const data = benchData(TRAIN);
const options: TrainerOptions = { task: 'classification', batchSize: BATCH, optimizer: { kind: 'adam' }, lr: { lr: 1e-4 }, seed: 0 };

const plain = (model: string) => timePlainTraining(model, data.train, BATCH, STEPS);

/** `workers` independent trainers at the per-shard batch, timed together: the most this machine gives
 *  that many processes at all (they share caches and memory bandwidth), with no rounds to pay for. */
async function independent(model: string, workers: number): Promise<number> {
  const env = { PLAIN_BATCH: String(Math.ceil(BATCH / workers)), STEPS: String(STEPS), MODEL: model, TRAIN: String(TRAIN) };
  const children = await Promise.all(Array.from({ length: workers }, () => startWorker(env)));
  const results = children.map(
    (child) =>
      new Promise<number>((resolve, reject) => {
        child.stdout!.on('data', (c: Buffer) => {
          const line = c.toString().split('\n').find((l) => l.startsWith('{'));
          if (line) resolve((JSON.parse(line) as { samplesPerS: number }).samplesPerS);
        });
        child.on('exit', (code) => code !== 0 && reject(new Error(`trainer exited with ${code}`)));
      }),
  );
  for (const c of children) c.stdin!.write('go\n');
  return (await Promise.all(results)).reduce((a, b) => a + b, 0);
}

function startWorker(env: Record<string, string>): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/ddpWorker.ts'], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'inherit'] });
    child.stdout!.on('data', (c: Buffer) => c.toString().includes('ready') && resolve(child));
    child.on('exit', (code) => reject(new Error(`worker exited with ${code}`)));
  });
}

async function distributed(model: string, workers: number, syncEvery: number) {
  const prefix = `bench-ddp-${process.pid}-${Date.now().toString(36)}`;
  const dir = mkdtempSync(path.join(tmpdir(), 'qat-ddp-'));
  const env = { QUEUE_PREFIX: prefix, DATA_DIR: dir, MODEL: model, TRAIN: String(TRAIN), REDIS_URL };
  const children = await Promise.all(Array.from({ length: workers }, () => startWorker(env)));
  const redis = createRedis(REDIS_URL, { role: 'worker' });
  const flows = await roundFlows({ connection: redis, prefix });
  const stats: RoundStats[] = [];
  const m = prepareQat(benchModel(model), QAT).model;
  try {
    const dp = distributedDataParallel({ jobId: 'bench', attempt: 1, shards: workers, syncEvery, store: new LocalDiskStore(dir), flows, merge: { activationObserver: 'ema' }, onRound: (s) => stats.push(s) });
    const trainer = new RoundTrainer(m, data.train, options, {
      shards: workers,
      syncEvery,
      runner: dp.runnerFor({ phase: 'TRAINING_QAT', model: m, data: data.train, spec: shardTrainerSpec(options, workers) }),
    });
    await trainer.fit({ epochs: 100, maxSteps: syncEvery }); // warm-up: workers load data and build models
    stats.length = 0;
    const started = performance.now();
    await trainer.fit({ epochs: 100, maxSteps: STEPS });
    const seconds = (performance.now() - started) / 1000;
    const mean = (f: (s: RoundStats) => number) => stats.reduce((a, s) => a + f(s), 0) / stats.length;
    return {
      samplesPerS: (trainer.step - syncEvery) * BATCH / seconds,
      rounds: stats.length,
      roundMs: mean((s) => s.totalMs),
      trainMs: mean((s) => s.maxTrainMs),
      meanTrainMs: mean((s) => s.meanTrainMs),
      syncMs: mean((s) => s.totalMs - s.maxTrainMs),
      mergeMs: mean((s) => s.mergeMs),
      stateBytes: stats[0]?.stateBytes ?? 0,
    };
  } finally {
    m.dispose();
    for (const c of children) c.kill('SIGTERM');
    await flows.close();
    for (const name of [QUEUE_NAMES.shards, QUEUE_NAMES.rounds]) {
      const q = new Queue(name, { connection: redis, prefix });
      await q.obliterate({ force: true }).catch(() => undefined);
      await q.close();
    }
    await closeRedis(redis);
    rmSync(dir, { recursive: true, force: true });
  }
}

async function convergence(model: string, syncEvery: number | null): Promise<number> {
  const mnist = benchData(TRAIN);
  const m = benchModel(model);
  const r = await compareQuantization(m, mnist.train, mnist.test, {
    task: 'classification',
    floatEpochs: 3,
    qatEpochs: 2,
    batchSize: BATCH,
    optimizer: { kind: 'adam' },
    lr: 1e-3,
    qatLr: 1e-4,
    seed: 0,
    calibration: { samples: 1000, observer: 'minmax' },
    ...(syncEvery ? { dataParallel: localDataParallel({ shards: 2, syncEvery, merge: { activationObserver: 'ema' } }) } : {}),
  });
  r.qatModel.dispose();
  m.dispose();
  return r.qat.int8Reference.accuracy!;
}

if (values.convergence) {
  for (const model of values.model!.split(',')) {
    const single = await convergence(model, null);
    console.log(JSON.stringify({ model, mode: 'one process', int8_accuracy: single }));
    for (const syncEvery of values['sync-every']!.split(',').map(Number)) {
      const acc = await convergence(model, syncEvery);
      console.log(JSON.stringify({ model, shards: 2, sync_every: syncEvery, int8_accuracy: acc, delta_points: Math.round((acc - single) * 1000) / 10 }));
    }
  }
  process.exit(0);
}

const rows: string[] = [];
const ceilingRows: string[] = [];
const workerCounts = values.workers!.split(',').map(Number);
const medianOf = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
for (const model of values.model!.split(',')) {
  const single = await plain(model);
  console.log(JSON.stringify({ model, mode: 'one process', samples_per_s: Math.round(single) }));
  const apart = new Map<number, number[]>();
  for (let i = 0; i < Number(values.repeat); i++) {
    for (const w of workerCounts) {
      const samplesPerS = await independent(model, w);
      apart.set(w, [...(apart.get(w) ?? []), samplesPerS]);
      console.log(JSON.stringify({ model, mode: 'independent trainers', processes: w, batch_each: Math.ceil(BATCH / w), run: i + 1, samples_per_s: Math.round(samplesPerS) }));
    }
  }
  for (const w of workerCounts) {
    const ratio = medianOf(apart.get(w)!) / medianOf(apart.get(1) ?? [single]);
    ceilingRows.push(`| ${model} | ${w} | ${Math.ceil(BATCH / w)} | ${Math.round(medianOf(apart.get(w)!))} | ${ratio.toFixed(2)}× |`);
  }
  for (const syncEvery of values['sync-every']!.split(',').map(Number)) {
    const runs = new Map<number, Awaited<ReturnType<typeof distributed>>[]>();
    for (let i = 0; i < Number(values.repeat); i++) {
      for (const w of workerCounts) {
        const r = await distributed(model, w, syncEvery);
        runs.set(w, [...(runs.get(w) ?? []), r]);
        console.log(JSON.stringify({ model, sync_every: syncEvery, workers: w, run: i + 1, samples_per_s: Math.round(r.samplesPerS), ...r }));
      }
    }
    const median = (xs: Awaited<ReturnType<typeof distributed>>[]) => [...xs].sort((a, b) => a.samplesPerS - b.samplesPerS)[Math.floor((xs.length - 1) / 2)]!;
    const byWorkers = new Map([...runs].map(([w, xs]) => [w, median(xs)]));
    const one = byWorkers.get(1);
    for (const [w, r] of byWorkers) {
      const speedup = one ? r.samplesPerS / one.samplesPerS : Number.NaN;
      // Projection: per-sample training cost stays as measured; a round at N shards trains syncEvery·batch/N
      // samples per shard and pays the sync measured here, with the merge and the state traffic growing
      // linearly in N (each shard's state is read once by the merge).
      const perShardMerge = r.mergeMs / w;
      const fixedSync = Math.max(0, r.syncMs - r.mergeMs);
      const computeAt = (n: number) => (r.trainMs * w) / n;
      const effAt = (n: number) => computeAt(n) / (computeAt(n) + fixedSync + perShardMerge * n);
      // Where the lost efficiency goes: shards training more slowly per sample when they share the
      // machine (caches, memory bandwidth), waiting for the slowest shard, and the synchronisation.
      const perSampleCost = one ? (r.meanTrainMs * w) / one.meanTrainMs : Number.NaN;
      rows.push(
        `| ${model} | ${syncEvery} | ${w} | ${Math.round(r.samplesPerS)} | ${(r.samplesPerS / single).toFixed(2)}× | ${speedup.toFixed(2)}× | ${((speedup / w) * 100).toFixed(0)}% | ${r.roundMs.toFixed(0)} | ${r.syncMs.toFixed(0)} | ${r.mergeMs.toFixed(0)} | ${(r.stateBytes / 1024).toFixed(0)} KB | ${perSampleCost.toFixed(2)}× | ${(r.trainMs - r.meanTrainMs).toFixed(0)} | ${(effAt(8) * 100).toFixed(0)}% / ${(effAt(32) * 100).toFixed(0)}% |`,
      );
    }
  }
}
console.log(`\nbatch ${BATCH} (global), ${STEPS} timed steps after a warm-up round, MNIST ${TRAIN} train samples, WASM, one thread per process; median of ${values.repeat} interleaved run(s) per row`);
console.log('| model | sync_every | workers | samples/s | vs one process | vs 1 worker | efficiency | round ms | sync ms/round | merge ms | state | train cost per sample vs 1 worker | slowest − mean shard ms | projected efficiency 8 / 32 workers |');
console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
for (const r of rows) console.log(r);
console.log(`\nThe machine's own limit: that many independent trainers (no rounds, batch ${BATCH}/processes each) at once, median of ${values.repeat}`);
console.log('| model | processes | batch each | samples/s (sum) | vs 1 process |');
console.log('| --- | --- | --- | --- | --- |');
for (const r of ceilingRows) console.log(r);
