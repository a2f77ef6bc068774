// Live workers announce themselves in Redis with a key that expires unless refreshed, so the API,
// the CLI and container health checks can see which workers are up without asking BullMQ.
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';

export interface WorkerInfo {
  id: string;
  host: string;
  pid: number;
  queues: string[];
  concurrency: number;
  /** TF.js backend the worker trains on. */
  backend?: string;
  startedAt: string;
  beatAt: string;
}

export const workerKey = (prefix: string, id: string): string => `${prefix}:workers:${id}`;

export class WorkerRegistration {
  private timer: NodeJS.Timeout | undefined;
  readonly info: Omit<WorkerInfo, 'beatAt'>;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    info: { id: string; queues: string[]; concurrency: number; backend?: string },
    private readonly ttlMs = 15_000,
  ) {
    this.info = { ...info, host: hostname(), pid: process.pid, startedAt: new Date().toISOString() };
  }

  async start(): Promise<void> {
    await this.beat();
    // Three beats per TTL: one lost beat does not make a live worker look dead.
    this.timer = setInterval(() => void this.beat().catch(() => undefined), this.ttlMs / 3);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.redis.del(workerKey(this.prefix, this.info.id)).catch(() => undefined);
  }

  private async beat(): Promise<void> {
    const value: WorkerInfo = { ...this.info, beatAt: new Date().toISOString() };
    await this.redis.set(workerKey(this.prefix, this.info.id), JSON.stringify(value), 'PX', this.ttlMs);
  }
}

export async function listWorkers(redis: Redis, prefix: string): Promise<WorkerInfo[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', workerKey(prefix, '*'), 'COUNT', 100);
    keys.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  if (keys.length === 0) return [];
  const values = await redis.mget(keys);
  return values.filter((v): v is string => v !== null).map((v) => JSON.parse(v) as WorkerInfo);
}
