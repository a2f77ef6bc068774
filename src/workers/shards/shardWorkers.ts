// The consumers of data-parallel rounds. A shard job adopts the round's global state with its own
// cursor, trains its steps on its shard and writes its state back; a round job (run by BullMQ once all
// its shard jobs completed) merges those states into the next global state. Both are idempotent: a
// retried shard starts from the same inputs and overwrites its own file with the same bytes.
import { type Job, UnrecoverableError, type Worker } from 'bullmq';
import type { Logger } from 'pino';
import { applySchedule } from '../../core/qat/mode.js';
import { mergeRound, type ShardRoundResult, trainShardRound } from '../../core/train/dataParallel.js';
import { QUEUE_NAMES, type RoundJobPayload } from '../../queue/names.js';
import { createWorker, type QueueContext } from '../../queue/queues.js';
import type { BlobStore } from '../../storage/blobStore.js';
import type { RoundPayload, RoundSummary, ShardPayload, ShardSummary } from './payloads.js';
import { readState, stateKeys, writeState } from './roundState.js';
import { ShardContextCache, type ShardContextLoader } from './shardContext.js';

export interface ShardWorkerOptions {
  store: BlobStore;
  load: ShardContextLoader;
  /** False when the job left RUNNING or moved to another attempt: its queued shards are then skipped. */
  isLive(jobId: string, attempt: number): Promise<boolean>;
  logger: Logger;
  /** BullMQ lock of a shard job: a worker that dies mid-shard gives it back after this long. */
  lockDurationMs?: number;
}

export interface RunningShardWorkers {
  workers: Worker[];
  close(): Promise<void>;
}

/** One TF.js thread per process: shards of one process train one after another. */
function serialized() {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(fn: () => Promise<T>): Promise<T> => {
    const run = tail.then(fn, fn);
    tail = run.catch(() => undefined);
    return run;
  };
}

export function shardProcessor(o: ShardWorkerOptions, cache: ShardContextCache) {
  const exclusive = serialized();
  return (job: Job<RoundJobPayload>): Promise<ShardSummary> =>
    exclusive(async () => {
      const p = job.data as unknown as ShardPayload;
      if (!(await o.isLive(p.jobId, p.attempt))) throw new UnrecoverableError(`job ${p.jobId} attempt ${p.attempt} is no longer running`);
      const keys = stateKeys(p.folder);
      const [{ context, data }, global] = await Promise.all([cache.shard(p.jobId, p.attempt, p.shards, p.shard), readState(o.store, keys.global)]);
      const model = context.model(p.phase);
      const trainStartedAt = Date.now();
      const started = performance.now();
      const result = await trainShardRound({
        model,
        data,
        spec: p.spec,
        request: { round: p.round, global, shards: p.progress, steps: p.steps },
        shard: p.shard,
        ...(context.transformBatch ? { transformBatch: context.transformBatch } : {}),
        ...(p.schedule ? { onEpochStart: (epoch: number) => applySchedule(model, epoch, p.schedule!) } : {}),
      });
      const trainMs = performance.now() - started;
      await writeState(o.store, keys.shard(p.shard), result.state);
      const { state: _state, ...summary } = result;
      return { ...summary, trainMs, trainStartedAt };
    });
}

/**
 * Merges a round whose shards all completed. A round outliving its job (cancelled, or handed to another
 * attempt while this merge waited or ran) leaves nothing behind: the coordinator removed the round's
 * folder when it gave up, so a merged file written now would stay until the job is deleted.
 */
export async function mergeRoundFiles(o: Pick<ShardWorkerOptions, 'store' | 'isLive'>, p: RoundPayload, summaries: ShardSummary[]): Promise<RoundSummary> {
  const started = performance.now();
  const keys = stateKeys(p.folder);
  const discard = async () => {
    await o.store.deletePrefix(`${p.folder}/`).catch(() => undefined);
    return new UnrecoverableError(`job ${p.jobId} attempt ${p.attempt} is no longer running: round ${p.round} discarded`);
  };
  if (!(await o.isLive(p.jobId, p.attempt))) throw await discard();
  if (summaries.length !== p.shards) throw new Error(`round ${p.round} of job ${p.jobId} has ${summaries.length} shard results, ${p.shards} expected`);
  const results: ShardRoundResult[] = await Promise.all(summaries.map(async (s) => ({ ...s, state: await readState(o.store, keys.shard(s.shard)) })));
  const outcome = mergeRound(results, p.merge);
  const stateBytes = await writeState(o.store, keys.merged, outcome.merged);
  if (!(await o.isLive(p.jobId, p.attempt))) throw await discard();
  const timing = new Map(summaries.map((s) => [s.shard, { trainMs: s.trainMs, trainStartedAt: s.trainStartedAt }]));
  return { shards: outcome.shards.map((s) => ({ ...s, ...(timing.get(s.shard) ?? { trainMs: 0, trainStartedAt: 0 }) })), mergeMs: performance.now() - started, stateBytes };
}

export function roundProcessor(o: Pick<ShardWorkerOptions, 'store' | 'isLive'>) {
  return async (job: Job<RoundJobPayload>): Promise<RoundSummary> =>
    mergeRoundFiles(o, job.data as unknown as RoundPayload, Object.values(await job.getChildrenValues<ShardSummary>()));
}

/** Starts the shard and round consumers of this process. */
export function startShardWorkers(o: ShardWorkerOptions, ctx: QueueContext): RunningShardWorkers {
  const cache = new ShardContextCache(o.load, 2);
  const lockDuration = o.lockDurationMs ?? 30_000;
  const shards = createWorker(QUEUE_NAMES.shards, shardProcessor(o, cache), ctx, {
    concurrency: 1,
    lockDuration,
    stalledInterval: Math.max(1000, Math.floor(lockDuration / 2)),
  });
  const rounds = createWorker(QUEUE_NAMES.rounds, roundProcessor(o), ctx, { concurrency: 4 });
  for (const w of [shards, rounds]) w.on('error', (err) => o.logger.warn({ err: err.message }, 'shard worker error'));
  shards.on('failed', (job, err) => o.logger.warn({ job: job?.id, err: err.message }, 'shard job failed'));
  return {
    workers: [shards, rounds],
    close: async () => {
      await Promise.allSettled([shards.close(), rounds.close()]);
      cache.clear();
    },
  };
}
