// Producer side of the training queue: one BullMQ job per job attempt, with a deterministic id so a
// repeated enqueue (a retried request, a resumed job) cannot start the same attempt twice.
import type { Queue } from 'bullmq';
import { QUEUE_NAMES, type TrainJobPayload } from './names.js';
import { createQueue, type QueueContext } from './queues.js';

export interface TrainQueue {
  /** Queues the attempt; with `delayMs` a worker takes it no sooner than that (a retry's backoff). */
  enqueue(payload: TrainJobPayload, options?: { delayMs?: number }): Promise<void>;
  /** Drops an attempt that no worker has taken yet; false if it is running or gone. */
  removeWaiting(payload: TrainJobPayload): Promise<boolean>;
  close(): Promise<void>;
}

export const trainJobId = (p: TrainJobPayload): string => `${p.jobId}-a${p.attempt}`;

export function trainQueue(ctx: QueueContext, onError: (err: Error) => void = () => undefined): TrainQueue {
  const queue: Queue<TrainJobPayload> = createQueue(QUEUE_NAMES.train, ctx);
  // The connection is shared and reconnects by itself; errors are the owner's to log, not an unhandled event.
  queue.on('error', onError);
  return {
    async enqueue(payload, options = {}) {
      await queue.add('train', payload, { jobId: trainJobId(payload), ...(options.delayMs && options.delayMs > 0 ? { delay: Math.round(options.delayMs) } : {}) });
    },
    async removeWaiting(payload) {
      const job = await queue.getJob(trainJobId(payload));
      if (!job) return false;
      const state = await job.getState();
      if (state !== 'waiting' && state !== 'delayed' && state !== 'prioritized') return false;
      await job.remove();
      return true;
    },
    close: () => queue.close(),
  };
}
