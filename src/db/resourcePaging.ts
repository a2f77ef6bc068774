// What the dataset and model repositories share: keyset paging newest first on (created_at, id), and
// the "is it used by a job" check that guards their deletion (jobs reference both with ON DELETE RESTRICT).
import type { Prisma } from './generated/client.js';

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
