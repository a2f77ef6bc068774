// The coordinator's side of data-parallel rounds over BullMQ: write the round's global state to the
// artifact store, add the round's flow, wait for its merge, read the merged state back, and drop the
// round's files (the job's checkpoint then holds the state).
import type { CompareDataParallel, DataParallelCosts } from '../../core/pipeline/compare.js';
import { ComparisonAbortedError } from '../../core/pipeline/compare.js';
import type { RoundRunner } from '../../core/train/dataParallel.js';
import type { MergeOptions } from '../../core/train/shardMerge.js';
import type { RoundFlows } from '../../queue/roundFlows.js';
import type { BlobStore } from '../../storage/blobStore.js';
import type { RoundPayload, RoundSummary, ShardPayload } from './payloads.js';
import { readState, roundFolder, stateKeys, writeState } from './roundState.js';

export interface DistributedRoundsOptions {
  jobId: string;
  attempt: number;
  shards: number;
  syncEvery: number;
  store: BlobStore;
  flows: RoundFlows;
  merge: MergeOptions;
  /** Attempts of each shard job (default 3). */
  shardAttempts?: number;
  signal?: AbortSignal;
  /** Told after every round: its wall time, the slowest shard's training time, the merge and the state size. */
  onRound?(stats: RoundStats): void;
}

export interface RoundStats {
  phase: string;
  round: number;
  steps: number;
  totalMs: number;
  /** The round waits for its slowest shard: max − mean is the time lost to uneven shards. */
  maxTrainMs: number;
  meanTrainMs: number;
  /** Time at least one shard was training: the slowest shard's when they train at once, their sum in turn. */
  busyMs: number;
  mergeMs: number;
  stateBytes: number;
}

/**
 * Length of the union of the shards' training intervals: the slowest shard's time when they train at
 * once, the sum when one worker trains them in turn. The intervals are on the workers' clocks, so
 * across machines their skew counts as training.
 */
export function busyTime(shards: readonly { trainMs: number; trainStartedAt: number }[]): number {
  if (shards.length === 0) return 0;
  const spans = shards.map((s) => [s.trainStartedAt, s.trainStartedAt + s.trainMs] as const).sort((a, b) => a[0] - b[0]);
  let total = 0;
  let [start, end] = spans[0]!;
  for (const [s, e] of spans.slice(1)) {
    if (s > end) {
      total += end - start;
      [start, end] = [s, e];
    } else end = Math.max(end, e);
  }
  return total + (end - start);
}

export function distributedDataParallel(o: DistributedRoundsOptions): CompareDataParallel {
  const costs: DataParallelCosts = { rounds: 0, roundMs: 0, trainMs: 0, waitMs: 0, mergeMs: 0, stateBytes: 0 };
  const count = (s: RoundStats) => {
    costs.rounds++;
    costs.roundMs += s.totalMs;
    costs.trainMs += s.busyMs;
    costs.waitMs += s.maxTrainMs - s.meanTrainMs;
    costs.mergeMs += s.mergeMs;
    costs.stateBytes = s.stateBytes;
  };
  return {
    shards: o.shards,
    syncEvery: o.syncEvery,
    costs: () => ({ ...costs }),
    runnerFor: (phase): RoundRunner => async (request) => {
      const folder = roundFolder(o.jobId, o.attempt, phase.phase, request.round);
      const keys = stateKeys(folder);
      const started = performance.now();
      const base = { jobId: o.jobId, attempt: o.attempt, phase: phase.phase, round: request.round, shards: o.shards, folder };
      await writeState(o.store, keys.global, request.global);
      const children: ShardPayload[] = Array.from({ length: o.shards }, (_, shard) => ({
        ...base,
        shard,
        steps: request.steps,
        spec: phase.spec,
        ...(phase.schedule ? { schedule: phase.schedule } : {}),
        progress: request.shards,
      }));
      const parent: RoundPayload = { ...base, merge: o.merge };
      let summary: RoundSummary;
      let merged: Awaited<ReturnType<typeof readState>>;
      try {
        try {
          summary = await o.flows.run<RoundSummary>(
            { id: `${o.jobId}-a${o.attempt}-${phase.phase === 'TRAINING_FLOAT' ? 'float' : 'qat'}-r${request.round}`, parent: { ...parent }, children: children.map((c) => ({ ...c })), childAttempts: o.shardAttempts ?? 3 },
            o.signal,
          );
        } catch (err) {
          if (o.signal?.aborted) throw new ComparisonAbortedError(phase.phase);
          throw new Error(`data-parallel round ${request.round} (${phase.phase}) failed: ${(err as Error).message}`);
        }
        merged = await readState(o.store, keys.merged);
      } finally {
        // The merged state is in hand (or the round is given up): its files go either way.
        await o.store.deletePrefix(`${folder}/`).catch(() => undefined);
      }
      const stats: RoundStats = {
        phase: phase.phase,
        round: request.round,
        steps: request.steps,
        totalMs: performance.now() - started,
        maxTrainMs: Math.max(...summary.shards.map((s) => s.trainMs)),
        meanTrainMs: summary.shards.reduce((a, s) => a + s.trainMs, 0) / summary.shards.length,
        busyMs: busyTime(summary.shards),
        mergeMs: summary.mergeMs,
        stateBytes: summary.stateBytes,
      };
      count(stats);
      o.onRound?.(stats);
      return { merged, shards: summary.shards };
    },
  };
}
