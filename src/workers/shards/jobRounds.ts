// A job's side of data-parallel training: the round runner its pipeline uses when `config.shards` > 1,
// and how its rounds show up in the job's progress (`shards`) and metrics (a `shard` on each point).
import type { RoundLog } from '../../core/train/callbacks.js';
import type { RoundFlows } from '../../queue/roundFlows.js';
import type { BlobStore } from '../../storage/blobStore.js';
import type { PreparedPipeline } from '../pipeline/preparePipeline.js';
import { distributedDataParallel } from './distributedRunner.js';

export function jobDataParallel(o: { jobId: string; attempt: number; store: BlobStore; flows: RoundFlows; signal?: AbortSignal }) {
  return (p: PreparedPipeline) =>
    distributedDataParallel({
      jobId: o.jobId,
      attempt: o.attempt,
      shards: p.config.shards,
      syncEvery: p.config.sync_every,
      store: o.store,
      flows: o.flows,
      // The QAT activation observers are EMAs (src/core/qat/config.ts): merged as means.
      merge: { activationObserver: 'ema' },
      ...(o.signal ? { signal: o.signal } : {}),
    });
}

/** The `shards` and `round` a job's progress carries while it trains data-parallel. */
export function roundProgress(r: RoundLog): Record<string, unknown> {
  return {
    round: r.round + 1,
    shards: r.shards.map((s) => ({ shard: s.shard, epoch: s.epoch + 1, batch_in_epoch: s.batchInEpoch, samples: s.samples, loss: s.loss })),
  };
}
