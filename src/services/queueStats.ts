// The API process's read-only view of the BullMQ queues: depths by state for GET /metrics, and the
// Queue objects Bull Board shows. Postgres holds each job's truth (DESIGN §1); these numbers are the
// transport's state, for operators. Queues are created on first use, so a process that is never
// scraped and has no board never connects for them.
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { QUEUE_NAMES, type QueueName } from '../queue/names.js';
import { createQueue } from '../queue/queues.js';

/** The states BullMQ counts, in the order /metrics lists them. */
export const QUEUE_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children', 'completed', 'failed'] as const;
export type QueueState = (typeof QUEUE_STATES)[number];

export interface QueueDepth {
  queue: string;
  counts: Record<QueueState, number>;
}

export interface QueueMonitorOptions {
  /** A fail-fast connection (producer options) owned by the caller, who closes it after `close()`. */
  redis: Redis;
  prefix: string;
  /** Defaults to every queue of src/queue/names.ts. */
  names?: readonly QueueName[];
  /** Errors BullMQ reports for these queues (an unlistened 'error' event would crash the process). */
  onError?: (err: Error) => void;
}

export class QueueMonitor {
  readonly names: readonly QueueName[];
  private created: Queue[] | undefined;

  constructor(private readonly o: QueueMonitorOptions) {
    this.names = o.names ?? Object.values(QUEUE_NAMES);
  }

  /** One BullMQ Queue per name, created (and connecting) on the first call. */
  queues(): Queue[] {
    if (!this.created) {
      // BullMQ connects a client that is still in 'wait' itself, and if that first attempt fails the
      // Queue stays unusable for good; a client that is already connecting is waited for instead, so
      // the queues recover when Redis comes back.
      if (this.o.redis.status === 'wait') this.o.redis.connect().catch(() => undefined);
      this.created = this.names.map((name) => {
        const queue = createQueue(name, { connection: this.o.redis, prefix: this.o.prefix }) as Queue;
        queue.on('error', (err: Error) => this.o.onError?.(err));
        return queue;
      });
    }
    return this.created;
  }

  /** Job counts by state for every queue (one round trip per queue). */
  async depths(): Promise<QueueDepth[]> {
    return Promise.all(
      this.queues().map(async (queue) => {
        const counts = await queue.getJobCounts(...QUEUE_STATES);
        return { queue: queue.name, counts: Object.fromEntries(QUEUE_STATES.map((s) => [s, counts[s] ?? 0])) as Record<QueueState, number> };
      }),
    );
  }

  /** Closes the queues it created (not the connection, which the caller owns). */
  async close(): Promise<void> {
    const queues = this.created ?? [];
    this.created = undefined;
    await Promise.all(queues.map((q) => q.close().catch(() => undefined)));
  }
}
