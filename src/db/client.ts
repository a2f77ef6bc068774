// The Prisma client of the service, on node-postgres through the driver adapter (Prisma 7 has no
// Rust query engine). Every other layer reaches the database through repositories built on this.
import { PrismaPg } from '@prisma/adapter-pg';
import { DependencyUnavailableError } from '../errors/index.js';
import { PrismaClient } from './generated/client.js';

export type Db = PrismaClient;

export function createDb(databaseUrl: string, options: { poolSize?: number } = {}): Db {
  const adapter = new PrismaPg({ connectionString: databaseUrl, max: options.poolSize ?? 10 });
  return new PrismaClient({ adapter });
}

/** Round-trips a trivial query; used by readiness checks. Failures become one readable line. */
export async function pingDb(db: Db): Promise<void> {
  try {
    await db.$queryRaw`SELECT 1`;
  } catch (err) {
    throw new DependencyUnavailableError('postgres', conciseMessage(err), { cause: err });
  }
}

/** Prisma's messages span several lines around the driver's own message; keep the driver's words. */
export function conciseMessage(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const driver = /Message: `([^`]+)`/.exec(message)?.[1];
  return driver ?? message.split('\n').map((l) => l.trim()).filter(Boolean).at(-1) ?? 'unknown error';
}
