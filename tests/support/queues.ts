// Removes everything a test file left in Redis under its own queue prefix (queues, jobs, locks, worker registrations).
import { closeRedis, createRedis } from '../../src/queue/connection.js';
import { TEST_REDIS_URL } from './env.js';

export async function dropQueueKeys(prefix: string): Promise<void> {
  const redis = createRedis(TEST_REDIS_URL, { role: 'worker' });
  try {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
  } finally {
    await closeRedis(redis);
  }
}
