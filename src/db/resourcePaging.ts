// What the dataset and model repositories share: keyset paging newest first on (created_at, id), and
// the "is it used by a job" check that guards their deletion (jobs reference both with ON DELETE RESTRICT).
import type { Db } from './client.js';
import type { Prisma } from './generated/client.js';

/** The client inside an interactive transaction. */
export type Tx = Parameters<Extract<Parameters<Db['$transaction']>[0], (...args: never[]) => unknown>>[0];

export interface PageQuery {
  limit: number;
  /** The last row of the previous page. */
  after?: { createdAt: Date; id: string };
}

/** Rows strictly after `after` in (created_at DESC, id DESC) order. */
export function pageWhere(after: PageQuery['after']): { OR?: ({ createdAt: { lt: Date } } | { createdAt: Date; id: { lt: string } })[] } {
  if (!after) return {};
  return { OR: [{ createdAt: { lt: after.createdAt } }, { createdAt: after.createdAt, id: { lt: after.id } }] };
}

export interface ResourceUsage {
  /** Jobs referencing the resource, whatever their state. */
  jobs: number;
  /** Of those, jobs not yet finished (QUEUED, PREPARING, RUNNING, CANCELLING). */
  active: number;
}

export type ResourceDeletion = { outcome: 'deleted'; storageKey: string } | { outcome: 'not-found' } | ({ outcome: 'in-use' } & ResourceUsage);

const ACTIVE = ['QUEUED', 'PREPARING', 'RUNNING', 'CANCELLING'] as const;

interface JobCounter {
  job: { count(args: { where: Prisma.JobWhereInput }): Prisma.PrismaPromise<number> | Promise<number> };
}

export async function usageOf(db: JobCounter, where: { datasetId: string } | { modelId: string }): Promise<ResourceUsage> {
  const [jobs, active] = await Promise.all([db.job.count({ where }), db.job.count({ where: { ...where, status: { in: [...ACTIVE] } } })]);
  return { jobs, active };
}

/** Postgres 23503 (Prisma P2003): a row still referenced by a foreign key. */
export function isForeignKeyViolation(err: unknown): boolean {
  const e = err as { code?: string; cause?: { code?: string }; message?: string };
  return e?.code === 'P2003' || e?.code === '23503' || e?.cause?.code === '23503' || /foreign key constraint/i.test(e?.message ?? '');
}

/**
 * Deletes a dataset or model row unless a job references it, in one transaction; a job created between
 * the count and the delete is caught by the foreign key (Restrict) and reported the same way.
 */
export async function deleteUnlessUsed(
  db: Db,
  ref: { datasetId: string } | { modelId: string },
  row: { find(tx: Tx): Promise<{ storageKey: string } | null>; remove(tx: Tx): Promise<unknown> },
): Promise<ResourceDeletion> {
  try {
    return await db.$transaction(async (tx) => {
      const found = await row.find(tx);
      if (!found) return { outcome: 'not-found' } as const;
      const usage = await usageOf(tx, ref);
      if (usage.jobs > 0) return { outcome: 'in-use', ...usage } as const;
      await row.remove(tx);
      return { outcome: 'deleted', storageKey: found.storageKey } as const;
    });
  } catch (err) {
    if (isForeignKeyViolation(err)) return { outcome: 'in-use', ...(await usageOf(db, ref)) };
    throw err;
  }
}
