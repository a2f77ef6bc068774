// Producer side of data-parallel rounds: each round is a BullMQ flow — a parent on qat-rounds whose
// children, one per shard, run on qat-shards. BullMQ runs the parent only once every child has
// completed, so rounds never deadlock when fewer workers than shards exist (children simply queue), a
// failed child is retried alone (its own attempts and backoff), and a child that fails for good fails
// the parent. The coordinator waits for the parent's result through QueueEvents.
import { FlowProducer, QueueEvents } from 'bullmq';
import { QUEUE_NAMES, type RoundJobPayload } from './names.js';
import type { QueueContext } from './queues.js';

export interface RoundFlowSpec {
  /** Unique per job, attempt, phase and round (a repeated add is then a no-op). */
  id: string;
  parent: RoundJobPayload;
  children: RoundJobPayload[];
  /** Attempts of each child (a crashed or failed shard is retried alone). */
  childAttempts: number;
}

export interface RoundFlows {
  /** Adds the round and resolves with the parent's return value; rejects when it failed for good or `signal` aborts. */
  run<T>(spec: RoundFlowSpec, signal?: AbortSignal): Promise<T>;
  close(): Promise<void>;
}

const KEEP = { removeOnComplete: { age: 3600, count: 10_000 }, removeOnFail: { age: 24 * 3600 } };

export async function roundFlows(ctx: QueueContext): Promise<RoundFlows> {
  const producer = new FlowProducer({ connection: ctx.connection, prefix: ctx.prefix });
  const events = new QueueEvents(QUEUE_NAMES.rounds, { connection: ctx.connection, prefix: ctx.prefix });
  producer.on('error', () => undefined);
  events.on('error', () => undefined);
  await events.waitUntilReady();
  return {
    async run<T>(spec: RoundFlowSpec, signal?: AbortSignal): Promise<T> {
      const node = await producer.add({
        name: 'round',
        queueName: QUEUE_NAMES.rounds,
        data: spec.parent,
        opts: { jobId: spec.id, ...KEEP },
        children: spec.children.map((data, k) => ({
          name: 'shard',
          queueName: QUEUE_NAMES.shards,
          data,
          opts: { jobId: `${spec.id}-s${k}`, attempts: spec.childAttempts, backoff: { type: 'exponential', delay: 500 }, failParentOnFailure: true, ...KEEP },
        })),
      });
      const finished = node.job.waitUntilFinished(events) as Promise<T>;
      if (!signal) return finished;
      // After an abort nobody awaits the round: its failure (the parent fails once its children see the
      // job stopped) must not surface as an unhandled rejection.
      finished.catch(() => undefined);
      return await new Promise<T>((resolve, reject) => {
        const onAbort = () => {
          // Children not started yet are dropped with their parent; running ones finish their few steps.
          node.job.remove({ removeChildren: true }).catch(() => undefined);
          reject(signal.reason instanceof Error ? signal.reason : new Error('round aborted'));
        };
        if (signal.aborted) return onAbort();
        signal.addEventListener('abort', onAbort, { once: true });
        finished.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
      });
    },
    close: async () => {
      await Promise.allSettled([producer.close(), events.close()]);
    },
  };
}
