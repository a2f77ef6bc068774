// Typed producers and consumers over the queue names of names.ts.
import { type ConnectionOptions, type JobsOptions, Queue, Worker, type Processor, type WorkerOptions } from 'bullmq';
import type { QueueName, QueuePayloads } from './names.js';

export interface QueueContext {
  connection: ConnectionOptions;
  prefix: string;
}

/** Jobs are kept briefly after completion: Postgres is the record, Redis only the transport. */
const DEFAULT_JOB_OPTIONS: JobsOptions = {
  removeOnComplete: { age: 3600, count: 1000 },
  removeOnFail: { age: 24 * 3600 },
};

export function createQueue<N extends QueueName>(name: N, ctx: QueueContext): Queue<QueuePayloads[N]> {
  return new Queue<QueuePayloads[N]>(name, {
    connection: ctx.connection,
    prefix: ctx.prefix,
    defaultJobOptions: DEFAULT_JOB_OPTIONS,
  });
}

export function createWorker<N extends QueueName>(
  name: N,
  processor: Processor<QueuePayloads[N]>,
  ctx: QueueContext,
  options: Omit<WorkerOptions, 'connection' | 'prefix'> = {},
): Worker<QueuePayloads[N]> {
  return new Worker<QueuePayloads[N]>(name, processor, { ...options, connection: ctx.connection, prefix: ctx.prefix });
}
