// What a shard worker needs to train a job's shards: the job's prepared training set and its models,
// built once per job attempt and kept while the job's rounds keep coming (a round is a few seconds;
// rebuilding the data and models each time would dominate it). One context is kept per worker slot.
import type { LayersModel } from '@tensorflow/tfjs-layers';
import type { TrainingPhase } from '../../core/pipeline/checkpoint.js';
import type { BatchTransform } from '../../core/train/batchTransform.js';
import { shardOf } from '../../core/train/dataParallel.js';
import type { Dataset } from '../../core/train/dataset.js';

export interface ShardContext {
  /** The job's training set after the pipeline's validation split and standardisation. */
  train: Dataset;
  /** The model a phase trains (the QAT one is prepared from the float one). */
  model(phase: TrainingPhase): LayersModel;
  transformBatch: BatchTransform | undefined;
  /** Frees the models. */
  dispose(): void;
}

export type ShardContextLoader = (jobId: string, attempt: number) => Promise<ShardContext>;

/** Remembers the last contexts and their shards, disposing the least recently used beyond `keep`. */
export class ShardContextCache {
  private readonly entries = new Map<string, { context: Promise<ShardContext>; shards: Map<string, Dataset> }>();

  constructor(
    private readonly load: ShardContextLoader,
    private readonly keep = 1,
  ) {}

  async shard(jobId: string, attempt: number, shards: number, k: number): Promise<{ context: ShardContext; data: Dataset }> {
    const key = `${jobId}:${attempt}`;
    let entry = this.entries.get(key);
    if (entry) this.entries.delete(key);
    else entry = { context: this.load(jobId, attempt), shards: new Map() };
    this.entries.set(key, entry); // most recent last
    this.evict();
    let context: ShardContext;
    try {
      context = await entry.context;
    } catch (err) {
      this.entries.delete(key);
      throw err;
    }
    let data = entry.shards.get(`${shards}:${k}`);
    if (!data) {
      data = shardOf(context.train, shards, k);
      entry.shards.set(`${shards}:${k}`, data);
    }
    return { context, data };
  }

  private evict(): void {
    while (this.entries.size > this.keep) {
      const [key, old] = this.entries.entries().next().value as [string, { context: Promise<ShardContext> }];
      this.entries.delete(key);
      old.context.then((c) => c.dispose()).catch(() => undefined);
    }
  }

  clear(): void {
    for (const e of this.entries.values()) e.context.then((c) => c.dispose()).catch(() => undefined);
    this.entries.clear();
  }
}
