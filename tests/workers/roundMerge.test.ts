// A round's merge on real state files in a real artifact store: it writes the merged state while its job
// is live, and leaves nothing behind when the job ended (cancelled or handed to another attempt) before
// or during the merge — the coordinator removed the round's folder when it gave up the round.
import { UnrecoverableError } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Trainer } from '../../src/core/train/trainer.js';
import { selectBackend } from '../../src/engine/backend.js';
import { LocalDiskStore } from '../../src/storage/localDiskStore.js';
import type { RoundPayload, ShardSummary } from '../../src/workers/shards/payloads.js';
import { readState, roundFolder, stateKeys, writeState } from '../../src/workers/shards/roundState.js';
import { busyTime } from '../../src/workers/shards/distributedRunner.js';
import { mergeRoundFiles } from '../../src/workers/shards/shardWorkers.js';
import { tempDir } from '../support/env.js';
import { digitsMlp, digitsTrain } from './fixtures/digitsShardContext.js';

describe('round merge', () => {
  const store = new LocalDiskStore(tempDir());
  let round = 0;
  const summaries: ShardSummary[] = [0, 1].map((shard) => ({ shard, samples: 64, lossSum: 1, metricSum: 0.5, trainMs: 1, trainStartedAt: 1_000 + shard }));

  /** A fresh round folder holding two real shard states (one trained model's state, twice). */
  async function roundWithShardFiles(): Promise<RoundPayload> {
    const folder = roundFolder('job-merge', 1, 'TRAINING_QAT', ++round);
    const model = digitsMlp();
    const trainer = new Trainer(model, digitsTrain, { task: 'classification', batchSize: 32, optimizer: { kind: 'adam' }, lr: { lr: 1e-3 }, seed: 0 });
    try {
      await trainer.fit({ epochs: 1, maxSteps: 2 });
      const state = trainer.exportState();
      for (const k of [0, 1]) await writeState(store, stateKeys(folder).shard(k), state);
    } finally {
      trainer.dispose();
      model.dispose();
    }
    return { jobId: 'job-merge', attempt: 1, phase: 'TRAINING_QAT', round, shards: 2, folder, merge: { activationObserver: 'ema' } };
  }

  beforeAll(async () => {
    await selectBackend('wasm');
  });
  afterAll(async () => {
    await store.deletePrefix('jobs/');
  });

  it('writes the merged state of a live job', async () => {
    const p = await roundWithShardFiles();
    const summary = await mergeRoundFiles({ store, isLive: async () => true }, p, summaries);
    expect(summary.shards.map((s) => [s.shard, s.trainMs, s.trainStartedAt])).toEqual([
      [0, 1, 1_000],
      [1, 1, 1_001],
    ]);
    expect(summary.stateBytes).toBeGreaterThan(1000);
    const merged = await readState(store, stateKeys(p.folder).merged);
    const shard = await readState(store, stateKeys(p.folder).shard(0));
    // Two equal shard states with equal samples merge to themselves.
    expect(merged.step).toBe(shard.step);
    expect(Object.keys(merged.weights).sort()).toEqual(Object.keys(shard.weights).sort());
  }, 30_000);

  it('of a job no longer live: fails for good without merging and removes the round folder', async () => {
    const p = await roundWithShardFiles();
    const err = await mergeRoundFiles({ store, isLive: async () => false }, p, summaries).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnrecoverableError);
    expect((err as Error).message).toMatch(/job-merge attempt 1 is no longer running: round \d+ discarded/);
    expect(await store.list(`${p.folder}/`)).toEqual([]);
  }, 30_000);

  it('of a job that ends while the merge runs: the merged file it wrote is removed too', async () => {
    const p = await roundWithShardFiles();
    let calls = 0;
    const err = await mergeRoundFiles({ store, isLive: async () => ++calls === 1 }, p, summaries).catch((e: unknown) => e);
    expect(calls).toBe(2);
    expect(err).toBeInstanceOf(UnrecoverableError);
    expect(await store.list(`${p.folder}/`)).toEqual([]);
  }, 30_000);
});

describe("a round's training time (busyTime)", () => {
  const shard = (trainStartedAt: number, trainMs: number) => ({ trainStartedAt, trainMs });
  it('is the slowest shard when they train at once, the sum when one worker trains them in turn, the union in between', () => {
    expect(busyTime([shard(0, 100), shard(5, 90), shard(2, 97)])).toBe(100);
    expect(busyTime([shard(0, 100), shard(110, 100)])).toBe(200);
    expect(busyTime([shard(0, 100), shard(50, 100), shard(300, 10)])).toBe(160);
    expect(busyTime([])).toBe(0);
  });
  it('counts a shard inside another one once', () => {
    expect(busyTime([shard(0, 100), shard(10, 40)])).toBe(100);
  });
});
