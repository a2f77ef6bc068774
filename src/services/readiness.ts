// Readiness: can this process do its work right now? Each dependency is checked in parallel with its
// own deadline, and the answer names every part that is down and why.
import type { Redis } from 'ioredis';
import { type Db, pingDb } from '../db/client.js';
import { pingRedis } from '../queue/connection.js';
import type { BlobStore } from '../storage/blobStore.js';
import { DependencyUnavailableError } from '../errors/index.js';

export type CheckName = 'postgres' | 'redis' | 'data_dir';

export interface CheckResult {
  status: 'up' | 'down';
  latency_ms: number;
  error?: string;
}

export interface ReadinessReport {
  ready: boolean;
  checks: Record<CheckName, CheckResult>;
}

export class ReadinessService {
  private readonly checks: Record<CheckName, () => Promise<void>>;
  private readonly timeoutMs: number;

  constructor(deps: { db: Db; redis: Redis; store: BlobStore; timeoutMs: number }) {
    this.checks = {
      postgres: () => pingDb(deps.db),
      redis: () => pingRedis(deps.redis),
      data_dir: () => deps.store.check(),
    };
    this.timeoutMs = deps.timeoutMs;
  }

  async check(): Promise<ReadinessReport> {
    const names = Object.keys(this.checks) as CheckName[];
    const results = await Promise.all(names.map((n) => this.run(this.checks[n])));
    const checks = Object.fromEntries(names.map((n, i) => [n, results[i]!])) as Record<CheckName, CheckResult>;
    return { ready: results.every((r) => r.status === 'up'), checks };
  }

  private async run(check: () => Promise<void>): Promise<CheckResult> {
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${this.timeoutMs} ms`)), this.timeoutMs);
    });
    try {
      await Promise.race([check(), deadline]);
      return { status: 'up', latency_ms: elapsed(started) };
    } catch (err) {
      const message = err instanceof DependencyUnavailableError ? err.reason : (err as Error).message || String(err);
      return { status: 'down', latency_ms: elapsed(started), error: message };
    } finally {
      clearTimeout(timer);
    }
  }
}

const elapsed = (started: number): number => Math.round((performance.now() - started) * 10) / 10;
