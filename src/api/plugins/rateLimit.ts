// Per-API-key rate limit for every route of the scope it is registered in (the /v1 scope, after
// authentication): @fastify/rate-limit with a Redis store (BatchingRedisStore below), so every API
// process shares one budget per key. Fixed windows of RATE_LIMIT_WINDOW_MS starting at a key's first request; RATE_LIMIT_MAX
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
import rateLimit, { type FastifyRateLimitStore, type FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import type { FastifyBaseLogger, FastifyInstance, FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';
import { RateLimitedError } from '../../errors/index.js';
import type { ApiDeps } from '../deps.js';
import { problemResponse } from '../schemas/problem.js';

const STORE_TIMEOUT_MS = 500;
const WARN_EVERY_MS = 30_000;

type StoreCallback = Parameters<FastifyRateLimitStore['incr']>[1];

// INCRBY a batch of requests and start the window (PEXPIRE) when they are its first: the package's own
// RedisStore script (INCR + PEXPIRE) for n requests at once. Returns the new count and the window's ms left.
const INCR_BATCH = `local n = redis.call('INCRBY', KEYS[1], ARGV[2])
if n == tonumber(ARGV[2]) then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  return {n, tonumber(ARGV[1])}
end
return {n, redis.call('PTTL', KEYS[1])}`;

type BatchRedis = Redis & { qatRateLimitIncrBy(key: string, windowMs: number, n: number, cb: (err: Error | null, r?: [number, number]) => void): void };

/**
 * The counters in Redis with one round trip per key at a time: while a key's increment is in flight,
 * the requests that arrive for it wait and go together as one INCRBY when it returns, each getting its
 * own count (previous + 1 … previous + n, in arrival order). The budget stays exact and shared by every
 * process, as with one INCR per request; a busy key (one client polling hard) costs Redis and this
 * process one call per round trip instead of one per request.
 */
class BatchingRedisStore implements FastifyRateLimitStore {
  private readonly waiting = new Map<string, { windowMs: number; callbacks: StoreCallback[] }>();
  /** Per key, the call in flight and when it was sent; one stalled longer than STORE_TIMEOUT_MS is not waited for. */
  private readonly inFlight = new Map<string, { sentAt: number }>();

  constructor(
    private readonly redis: BatchRedis,
    private readonly prefix: string,
  ) {
    if (!redis.qatRateLimitIncrBy) redis.defineCommand('qatRateLimitIncrBy', { numberOfKeys: 1, lua: INCR_BATCH });
  }

  incr(key: string, callback: StoreCallback, timeWindow: number): void {
    const k = this.prefix + key;
    const flight = this.inFlight.get(k);
    if (!flight || Date.now() - flight.sentAt > STORE_TIMEOUT_MS) return this.send(k, timeWindow, [callback]);
    const batch = this.waiting.get(k);
    if (batch) batch.callbacks.push(callback);
    else this.waiting.set(k, { windowMs: timeWindow, callbacks: [callback] });
  }

  private send(k: string, windowMs: number, callbacks: StoreCallback[]): void {
    const flight = { sentAt: Date.now() };
    this.inFlight.set(k, flight);
    let answered = false;
    const done = (err: Error | null, r?: [number, number]) => {
      if (answered) return; // a synchronous throw after an answer
      answered = true;
      if (this.inFlight.get(k) === flight) {
        this.inFlight.delete(k);
        const next = this.waiting.get(k);
        if (next) {
          this.waiting.delete(k);
          this.send(k, next.windowMs, next.callbacks);
        }
      }
      if (err || !r) {
        for (const cb of callbacks) cb(err ?? new Error('no answer'));
        return;
      }
      const [current, ttl] = r;
      callbacks.forEach((cb, i) => cb(null, { current: current - callbacks.length + 1 + i, ttl }));
    };
    try {
      this.redis.qatRateLimitIncrBy(k, windowMs, callbacks.length, done);
    } catch (err) {
      done(err instanceof Error ? err : new Error(String(err)));
    }
  }

  child(routeOptions: Parameters<FastifyRateLimitStore['child']>[0]): FastifyRateLimitStore {
    const { method, url } = (routeOptions as unknown as { routeInfo: { method: string; url: string } }).routeInfo;
    return new BatchingRedisStore(this.redis, `${this.prefix}${method}${url}-`);
  }
}

/** Connects the lazily-connecting client on first use, bounds each call, and reports failures. */
export class RedisGuard {
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

  /** Promise form of `run`: the op's result, or undefined (warned about) when Redis fails or stalls. */
  call<T>(op: (redis: Redis) => Promise<T>): Promise<T | undefined> {
    return new Promise((resolve) => {
      let value: T | undefined;
      this.run(
        (done) =>
          op(this.redis).then(
            (v) => {
              value = v;
              done(null, { current: 0, ttl: 0 });
            },
            (err: unknown) => done(err instanceof Error ? err : new Error(String(err))),
          ),
        (err) => resolve(err ? undefined : value),
      );
    });
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
  'Too many requests for this API key in the current window, or too many requests with a missing or invalid API key from this client address: retry after `Retry-After` seconds. Responses limited per key carry `x-ratelimit-limit`, `x-ratelimit-remaining` and `x-ratelimit-reset` (seconds).',
);

/** Limits every route registered in `scope` after this call; call it after `requireApiKey`. */
export async function registerRateLimit(scope: FastifyInstance, deps: Pick<ApiDeps, 'config' | 'rateLimitRedis'>): Promise<void> {
  const { rateLimitMax, rateLimitWindowMs, queuePrefix, authFailureMax } = deps.config;
  if (rateLimitMax === 0 && authFailureMax === 0) return;

  // Documents the 429 on every limited route that documents its responses.
  scope.addHook('onRoute', (route) => {
    const schema = route.schema as { response?: Record<string, unknown>; hide?: boolean } | undefined;
    if (!schema?.response || schema.hide || route.config?.rateLimit === false) return;
    route.schema = { ...schema, response: { ...schema.response, 429: schema.response[429] ?? TOO_MANY } };
  });
  if (rateLimitMax === 0) return;

  const guard = new RedisGuard(deps.rateLimitRedis, scope.log);
  const namespace = `${queuePrefix}:ratelimit:`;
  const store: FastifyRateLimitStoreCtor = class extends GuardedStore {
    constructor() {
      super(new BatchingRedisStore(deps.rateLimitRedis as BatchRedis, namespace), guard);
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

/**
 * Failed authentication per client address, shared by every API process through Redis: after
 * AUTH_FAILURE_MAX requests with a missing or invalid key from one address in a fixed window of
 * AUTH_FAILURE_WINDOW_MS (starting at its first failure), its /v1 requests are answered 429 until the
 * window ends. Like the per-key limit it fails open when Redis does not answer.
 */
export interface AuthFailureLimiter {
  /** Seconds until `ip` may try again (0: it is within its budget). */
  retryAfter(ip: string): Promise<number>;
  /** Counts one failed authentication from `ip`. */
  failed(ip: string): Promise<void>;
}

// INCR and, on a window's first failure, its expiry, in one atomic step.
const COUNT_FAILURE = `local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n`;
// The count and the time left of the address's window.
const READ_FAILURES = `return {tonumber(redis.call('GET', KEYS[1]) or '0'), redis.call('PTTL', KEYS[1])}`;

export function authFailureLimiter(scope: FastifyInstance, deps: Pick<ApiDeps, 'config' | 'rateLimitRedis'>): AuthFailureLimiter | undefined {
  const { authFailureMax: max, authFailureWindowMs: windowMs, queuePrefix } = deps.config;
  if (max === 0) return undefined;
  const guard = new RedisGuard(deps.rateLimitRedis, scope.log);
  const key = (ip: string) => `${queuePrefix}:authfail:${ip}`;
  return {
    async retryAfter(ip) {
      const read = (await guard.call((r) => r.eval(READ_FAILURES, 1, key(ip)) as Promise<[number, number]>)) ?? [0, -2];
      const [count, ttlMs] = read;
      if (count < max) return 0;
      return Math.max(1, Math.ceil((ttlMs > 0 ? ttlMs : windowMs) / 1000));
    },
    async failed(ip) {
      await guard.call((r) => r.eval(COUNT_FAILURE, 1, key(ip), String(windowMs)));
    },
  };
}
