// Data-parallel rounds (sklearn digits, WASM). Exactness: with plain SGD and one step per round, N
// shards give the weights of one process stepping on the union of the shards' batches (1e-5 relative).
// Merging: observers and batch-norm statistics as the union of the data would have set them. And a
// sharded comparison checkpoints every round and resumes to the same result.
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeCheckpoint, encodeCheckpoint } from '../../../src/core/pipeline/checkpoint.js';
import { type CompareOptions, compareQuantization } from '../../../src/core/pipeline/compare.js';
import { localDataParallel } from '../../../src/core/pipeline/localDataParallel.js';
import * as tf from '../../../src/core/tf.js';
import { localRoundRunner, RoundTrainer, shardOf, shardTrainerSpec } from '../../../src/core/train/dataParallel.js';
import { makeBatch } from '../../../src/core/train/dataset.js';
import { mergeShardStates, reductionFor } from '../../../src/core/train/shardMerge.js';
import { TRAIN_STATE_VERSION, type TrainState } from '../../../src/core/train/state.js';
import type { TensorRecord } from '../../../src/core/train/tensorRecord.js';
import { Trainer, type TrainerOptions } from '../../../src/core/train/trainer.js';
import { buildModel } from '../../../src/core/zoo/index.js';
import { selectBackend } from '../../../src/engine/backend.js';
import { loadSklearn } from '../../support/datasets.js';
import { bitsEqual, head, weightsOf } from './helpers.js';

const data = loadSklearn('digits', { testFraction: 0.25, seed: 0 });
const mlp = () => buildModel('mlp', { inputShape: [64], classes: data.classes, seed: 0 });

function maxRelativeError(a: Record<string, Float32Array>, b: Record<string, Float32Array>): number {
  let diff = 0;
  let scale = 0;
  for (const k of Object.keys(b)) {
    for (let i = 0; i < b[k]!.length; i++) {
      diff = Math.max(diff, Math.abs(a[k]![i]! - b[k]![i]!));
      scale = Math.max(scale, Math.abs(b[k]![i]!));
    }
  }
  return diff / scale;
}

beforeAll(async () => {
  await selectBackend('wasm');
});

describe('data-parallel exactness (SGD, sync every step)', () => {
  it.each([2, 4])('%i shards × K steps = one process on the union batches, within 1e-5 relative', async (shards) => {
    const perShard = 8;
    const steps = 6;
    const train = head(data.train, 400);
    const options: TrainerOptions = { task: 'classification', batchSize: perShard * shards, optimizer: { kind: 'sgd' }, lr: { lr: 0.05 }, seed: 0, shuffle: false };

    const parallelModel = mlp();
    const rounds = new RoundTrainer(parallelModel, train, options, {
      shards,
      syncEvery: 1,
      runner: localRoundRunner({
        model: parallelModel,
        shards: Array.from({ length: shards }, (_, k) => shardOf(train, shards, k)),
        spec: shardTrainerSpec(options, shards),
        merge: { activationObserver: 'ema' },
      }),
    });
    const r = await rounds.fit({ epochs: 1, maxSteps: steps });
    expect(r).toMatchObject({ stop: 'max-steps', step: steps });

    // One process: step t trains on rows t·b … (t+1)·b − 1 of every shard, i.e. samples j·N + k.
    const singleModel = mlp();
    const single = new Trainer(singleModel, train, options);
    for (let t = 0; t < steps; t++) {
      const order = new Int32Array(perShard * shards);
      let o = 0;
      for (let k = 0; k < shards; k++) for (let j = t * perShard; j < (t + 1) * perShard; j++) order[o++] = j * shards + k;
      const batch = makeBatch(train, 'classification', order, 0, order.length);
      single.trainStep(batch.x, batch.y);
      tf.dispose([batch.x, batch.y]);
    }
    const a = weightsOf(parallelModel);
    const b = weightsOf(singleModel);
    const initial = weightsOf(mlp());
    expect(maxRelativeError(b, initial)).toBeGreaterThan(1e-3); // the steps moved the weights
    expect(maxRelativeError(a, b)).toBeLessThan(1e-5);
    rounds.dispose();
    single.dispose();
    parallelModel.dispose();
    singleModel.dispose();
  }, 60_000);

  it('report regression MAE per target like one process (3 targets, 2 shards)', async () => {
    const n = 256;
    const x = data.train.x.slice(0, n * 64);
    const y = new Float32Array(n * 3);
    for (let i = 0; i < n; i++) for (let t = 0; t < 3; t++) y[i * 3 + t] = x[i * 64 + 20 + t]! * (t + 1);
    const d = { x, y, sampleShape: [64] };
    const build = () => buildModel('mlp', { inputShape: [64], classes: 3, seed: 0 });
    const options: TrainerOptions = { task: 'regression', batchSize: 32, optimizer: { kind: 'sgd' }, lr: { lr: 1e-9 }, seed: 0, shuffle: false };
    const single = new Trainer(build(), d, options);
    const one = (await single.fit({ epochs: 1 })).history[0]!;
    const m = build();
    const rounds = new RoundTrainer(m, d, options, {
      shards: 2,
      syncEvery: 3,
      runner: localRoundRunner({ model: m, shards: [0, 1].map((k) => shardOf(d, 2, k)), spec: shardTrainerSpec(options, 2), merge: { activationObserver: 'ema' } }),
    });
    const shardLogs: number[] = [];
    const two = (await rounds.fit({ epochs: 1, callbacks: { onShardEpochEnd: (_k, log) => void shardLogs.push(log.mae!) } })).history[0]!;
    expect(one.mae).toBeGreaterThan(0.1);
    expect(two.mae).toBeCloseTo(one.mae!, 4);
    expect(two.loss).toBeCloseTo(one.loss, 4);
    for (const s of shardLogs) expect(s).toBeCloseTo(one.mae!, 1);
  }, 30_000);

  it('shards are disjoint, equal in size and cover all but fewer than N samples', () => {
    const d = head(data.train, 103);
    const parts = [0, 1, 2, 3].map((k) => shardOf(d, 4, k));
    expect(parts.map((p) => p.y.length)).toEqual([25, 25, 25, 25]);
    const rows = (x: Float32Array, i: number) => x.subarray(i * 64, (i + 1) * 64).join(',');
    const seen = new Set<string>();
    for (const p of parts) for (let i = 0; i < 25; i++) seen.add(rows(p.x, i));
    expect(seen.size).toBe(100);
  });
});

describe('merging shard states', () => {
  const rec = (...v: number[]): TensorRecord => ({ shape: [v.length], dtype: 'float32', data: Float32Array.from(v) });
  const state = (weights: Record<string, TensorRecord>): TrainState => ({
    version: TRAIN_STATE_VERSION,
    step: 3,
    cursor: { epoch: 0, batchInEpoch: 3, epochRng: 1 },
    sums: { loss: 0, metric: 0, samples: 0, batches: 0 },
    optimizer: { kind: 'sgd', slots: {} },
    weights,
  });

  it('pools batch-norm statistics exactly: variance of the union = mean of variances + variance of means', () => {
    // Shard data {0, 2} and {4, 6, 8, 10}: means 1 and 7, variances 1 and 5; union mean 5, variance 70/6.
    const a = state({ 'bn/moving_mean': rec(1), 'bn/moving_variance': rec(1), 'c/bn_moving_mean': rec(1), 'c/bn_moving_variance': rec(1) });
    const b = state({ 'bn/moving_mean': rec(7), 'bn/moving_variance': rec(5), 'c/bn_moving_mean': rec(7), 'c/bn_moving_variance': rec(5) });
    const m = mergeShardStates([a, b], [2, 4], { activationObserver: 'ema' });
    expect(m.weights['bn/moving_mean']!.data[0]).toBeCloseTo(5, 6);
    expect(m.weights['bn/moving_variance']!.data[0]).toBeCloseTo(70 / 6, 5);
    expect(m.weights['c/bn_moving_variance']!.data[0]).toBeCloseTo(70 / 6, 5);
  });

  it('merges min/max observers as min of minimums and max of maximums, EMA observers as means, "seen" as any', () => {
    const a = state({ 'fc1/act_min': rec(-1), 'fc1/act_max': rec(2), 'fc1/act_seen': rec(0) });
    const b = state({ 'fc1/act_min': rec(-3), 'fc1/act_max': rec(1), 'fc1/act_seen': rec(1) });
    const minmax = mergeShardStates([a, b], [1, 1], { activationObserver: 'minmax' });
    expect([minmax.weights['fc1/act_min']!.data[0], minmax.weights['fc1/act_max']!.data[0], minmax.weights['fc1/act_seen']!.data[0]]).toEqual([-3, 2, 1]);
    const ema = mergeShardStates([a, b], [1, 1], { activationObserver: 'ema' });
    expect([ema.weights['fc1/act_min']!.data[0], ema.weights['fc1/act_max']!.data[0]]).toEqual([-2, 1.5]);
    expect(reductionFor('fc1/kernel', { activationObserver: 'minmax' })).toBe('mean');
  });
});

describe('a sharded comparison', () => {
  const train = head(data.train, 480);
  const options: CompareOptions = {
    task: 'classification',
    floatEpochs: 2,
    qatEpochs: 1,
    batchSize: 32,
    optimizer: { kind: 'adam' },
    lr: 2e-3,
    qatLr: 1e-4,
    seed: 0,
    calibration: { samples: 200, observer: 'minmax' },
  };

  it('learns like one process, checkpoints every round and resumes from any round to the same weights', async () => {
    const dataParallel = localDataParallel({ shards: 2, syncEvery: 3, merge: { activationObserver: 'ema' } });
    const saved: Uint8Array[] = [];
    const run = async (resume?: Uint8Array) => {
      const model = mlp();
      const report = await compareQuantization(model, train, data.test, {
        ...options,
        dataParallel,
        checkpoint: { key: 'k', ...(resume ? { resume: decodeCheckpoint(resume) } : {}), save: async (c) => void (resume ? undefined : saved.push(encodeCheckpoint(c))) },
      });
      model.dispose();
      return report;
    };
    const sharded = await run();
    const model = mlp();
    const single = await compareQuantization(model, train, data.test, options);
    model.dispose();
    expect(sharded.float.metrics.accuracy).toBeGreaterThan(0.8);
    expect(Math.abs(sharded.qat.int8Reference.accuracy! - single.qat.int8Reference.accuracy!)).toBeLessThan(0.05);
    // 15 shard steps per epoch (240 samples, batch 16) in rounds of 3 → 5 rounds per epoch.
    expect(sharded.float.training.history.map((h) => h.steps)).toEqual([15, 15]);
    const stepsPerRound = saved.map((b) => decodeCheckpoint(b)).filter((c) => c.phase === 'TRAINING_FLOAT' && c.float!.trainer.cursor.batchInEpoch > 0);
    expect(stepsPerRound.map((c) => c.float!.trainer.cursor.batchInEpoch)).toEqual([3, 6, 9, 12, 3, 6, 9, 12]);
    const resumed = await run(saved[6]);
    expect(bitsEqual(weightsOf(resumed.qatModel), weightsOf(sharded.qatModel))).toBe(true);
    expect(resumed.qat.int8Reference).toEqual(sharded.qat.int8Reference);
    for (const r of [sharded, single, resumed]) r.qatModel.dispose();
  }, 120_000);
});
