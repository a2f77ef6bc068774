// Data-parallel rounds with every shard trained in this process, one after another: the reference the
// distributed runner must agree with, and what tests use to prove the round arithmetic.
import { applySchedule } from '../qat/mode.js';
import type { BatchTransform } from '../train/batchTransform.js';
import { localRoundRunner, shardOf } from '../train/dataParallel.js';
import type { MergeOptions } from '../train/shardMerge.js';
import type { CompareDataParallel } from './compare.js';

export function localDataParallel(o: { shards: number; syncEvery: number; merge: MergeOptions; transformBatch?: (shard: number) => BatchTransform | undefined }): CompareDataParallel {
  return {
    shards: o.shards,
    syncEvery: o.syncEvery,
    runnerFor: (p) =>
      localRoundRunner({
        model: p.model,
        shards: Array.from({ length: o.shards }, (_, k) => shardOf(p.data, o.shards, k)),
        spec: p.spec,
        merge: o.merge,
        ...(o.transformBatch ? { transformBatch: o.transformBatch } : {}),
        ...(p.schedule ? { onEpochStart: (epoch: number) => applySchedule(p.model, epoch, p.schedule!) } : {}),
      }),
  };
}
