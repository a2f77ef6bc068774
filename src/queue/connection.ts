// Redis connections with the options BullMQ needs for each role.
// - worker: `maxRetriesPerRequest: null` is required by BullMQ's blocking commands; it waits for Redis
//   to come back instead of failing jobs.
// - producer (API): fails fast while Redis is down (`enableOfflineQueue: false`), so a request gets a
//   503 rather than hanging until its client times out.
import { Redis, type RedisOptions } from 'ioredis';

export type RedisRole = 'worker' | 'producer';

export interface RedisConnectionOptions {
  role: RedisRole;
  /** Called for connection errors; ioredis otherwise prints them as unhandled. */
  onError?: (err: Error) => void;
  connectTimeoutMs?: number;
}

export function createRedis(url: string, options: RedisConnectionOptions): Redis {
  const common: RedisOptions = {
    lazyConnect: true,
    connectTimeout: options.connectTimeoutMs ?? 5_000,
    // Back off up to 2 s between reconnects; never give up (the process decides when to stop).
    retryStrategy: (times) => Math.min(times * 100, 2_000),
  };
  const roleOptions: RedisOptions =
    options.role === 'worker'
      ? { maxRetriesPerRequest: null, enableReadyCheck: true }
      : { maxRetriesPerRequest: 1, enableOfflineQueue: false };
  const redis = new Redis(url, { ...common, ...roleOptions });
  redis.on('error', (err: Error) => options.onError?.(err));
  return redis;
}

/** Connects if needed and round-trips a PING. */
export async function pingRedis(redis: Redis): Promise<void> {
  if (redis.status === 'wait') await redis.connect();
  // A first connection still in progress (the client was just created): wait for it instead of
  // reporting Redis down because the offline queue is off. A reconnecting client is really down.
  else if (redis.status === 'connecting' || redis.status === 'connect') await settled(redis);
  const answer = await redis.ping();
  if (answer !== 'PONG') throw new Error(`unexpected PING answer '${answer}'`);
}

function settled(redis: Redis): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (err?: Error) => {
      redis.off('ready', onReady);
      redis.off('error', onError);
      if (err) reject(err);
      else resolve();
    };
    const onReady = () => done();
    const onError = (err: Error) => done(err);
    redis.once('ready', onReady);
    redis.once('error', onError);
  });
}

/** Closes gracefully (QUIT), or drops the socket if Redis is not answering. */
export async function closeRedis(redis: Redis): Promise<void> {
  if (redis.status === 'end') return;
  if (redis.status !== 'ready') {
    redis.disconnect();
    return;
  }
  await redis.quit().catch(() => redis.disconnect());
}
