// Per-API-key rate limit for every route of the scope it is registered in (the /v1 scope, after
// authentication): @fastify/rate-limit with its Redis store, so every API process shares one budget
// per key. Fixed windows of RATE_LIMIT_WINDOW_MS starting at a key's first request; RATE_LIMIT_MAX
// requests per window (0 = no limit). Over it: 429 problem+json RATE_LIMITED with Retry-After, and
// every limited response carries x-ratelimit-limit, x-ratelimit-remaining and x-ratelimit-reset.
//
// Keys: `key:<api key id>` — each API key has its own budget, so tenants never share one. Auth runs
// first (scope hook before route hook), so requests without a valid key are answered 401 and never
// counted; were a route in the scope public, it would be keyed by client IP (`ip:<address>`).
//
// Redis trouble fails open: if the counter cannot be read within STORE_TIMEOUT_MS (Redis down,
// reconnecting, or stalled) the request proceeds unlimited and a warning is logged (at most every
// 30 s). The limit protects capacity, not data, and the routes that only read Postgres keep working
// while Redis is out; /readyz reports Redis down meanwhile.
import { createRequire } from 'node:module';
import rateLimit, { type FastifyRateLimitStore, type FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import type { FastifyBaseLogger, FastifyInstance, FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';
import { RateLimitedError } from '../../errors/index.js';
import type { ApiDeps } from '../deps.js';
import { problemResponse } from '../schemas/problem.js';

const STORE_TIMEOUT_MS = 500;
const WARN_EVERY_MS = 30_000;

type StoreCallback = Parameters<FastifyRateLimitStore['incr']>[1];
type RedisStoreCtor = new (continueExceeding: boolean, exponentialBackoff: boolean, redis: Redis, key?: string) => FastifyRateLimitStore;

// The package's own Redis store (an atomic INCR + PEXPIRE script); it is not part of the typed API.
const RedisStore = createRequire(import.meta.url)('@fastify/rate-limit/store/RedisStore') as RedisStoreCtor;

/** Connects the lazily-connecting client on first use, bounds each call, and reports failures. */
class RedisGuard {
  private connecting: Promise<void> | undefined;
  private lastWarning = 0;

  constructor(
    private readonly redis: Redis,
    private readonly log: FastifyBaseLogger,
  ) {}

  run(op: (done: StoreCallback) => void, callback: StoreCallback): void {
    let settled = false;
    const finish = (err: Error | null, result?: { current: number; ttl: number }) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) this.warn(err);
      callback(err, result);
    };
    const timer = setTimeout(() => finish(new Error(`no answer within ${STORE_TIMEOUT_MS} ms`)), STORE_TIMEOUT_MS);
    this.ready().then(
      () => op(finish),
      (err: unknown) => finish(err instanceof Error ? err : new Error(String(err))),
    );
  }

  private ready(): Promise<void> {
    const { redis } = this;
    if (redis.status === 'ready') return Promise.resolve();
    if (redis.status === 'wait') {
      this.connecting ??= redis.connect().finally(() => {
        this.connecting = undefined;
      });
    }
    // While reconnecting (the client fails fast: no offline queue) the call fails open at once.
    return this.connecting ?? Promise.reject(new Error(`redis is ${redis.status}`));
  }

  private warn(err: Error): void {
    const now = Date.now();
    if (now - this.lastWarning < WARN_EVERY_MS) return;
    this.lastWarning = now;
    this.log.warn({ err: err.message }, 'rate limit store unavailable: requests pass unlimited until Redis answers');
  }
}

class GuardedStore implements FastifyRateLimitStore {
  constructor(
    private readonly inner: FastifyRateLimitStore,
    private readonly guard: RedisGuard,
  ) {}

  incr(key: string, callback: StoreCallback, timeWindow: number, max: number): void {
    this.guard.run((done) => this.inner.incr(key, done, timeWindow, max), callback);
  }

  child(routeOptions: Parameters<FastifyRateLimitStore['child']>[0]): FastifyRateLimitStore {
    return new GuardedStore(this.inner.child(routeOptions), this.guard);
  }
}

export const rateLimitKey = (request: FastifyRequest): string =>
  request.principal ? `key:${request.principal.keyId}` : `ip:${request.ip}`;

const TOO_MANY = problemResponse(
  'Too many requests for this API key in the current window: retry after `Retry-After` seconds. Responses carry `x-ratelimit-limit`, `x-ratelimit-remaining` and `x-ratelimit-reset` (seconds).',
);

/** Limits every route registered in `scope` after this call; call it after `requireApiKey`. */
export async function registerRateLimit(scope: FastifyInstance, deps: Pick<ApiDeps, 'config' | 'rateLimitRedis'>): Promise<void> {
  const { rateLimitMax, rateLimitWindowMs, queuePrefix } = deps.config;
  if (rateLimitMax === 0) return;

  // Documents the 429 on every limited route that documents its responses.
  scope.addHook('onRoute', (route) => {
    const schema = route.schema as { response?: Record<string, unknown>; hide?: boolean } | undefined;
    if (!schema?.response || schema.hide || route.config?.rateLimit === false) return;
    route.schema = { ...schema, response: { ...schema.response, 429: schema.response[429] ?? TOO_MANY } };
  });

  const guard = new RedisGuard(deps.rateLimitRedis, scope.log);
  const namespace = `${queuePrefix}:ratelimit:`;
  const store: FastifyRateLimitStoreCtor = class extends GuardedStore {
    constructor() {
      super(new RedisStore(false, false, deps.rateLimitRedis, namespace), guard);
    }
  };

  await scope.register(rateLimit, {
    global: true,
    hook: 'onRequest',
    max: rateLimitMax,
    timeWindow: rateLimitWindowMs,
    keyGenerator: rateLimitKey,
    store,
    skipOnError: true,
    errorResponseBuilder: (_request, context) => new RateLimitedError(Math.max(1, Math.ceil(context.ttl / 1000))),
  });
}
