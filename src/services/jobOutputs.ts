// What a job produced: its artifacts (listed, and streamed whole or by byte range, identified by their
// sha256) and its metrics (names with their latest value, and each name's time series, paged).
import type { Readable } from 'node:stream';
import type { JobRepository, StoredArtifact, StoredMetric } from '../db/jobRepository.js';
import { ConflictError, NotFoundError, RangeNotSatisfiableError, ValidationError } from '../errors/index.js';
import type { BlobStore, ByteRange } from '../storage/blobStore.js';
import { isTerminal } from './jobLifecycle.js';

export type { StoredArtifact, StoredMetric };

export interface ArtifactDownload {
  artifact: StoredArtifact;
  /** The bytes sent: all of them, or the satisfiable range asked for. */
  range: ByteRange | null;
  body: Readable | null;
}

/** Parses one `bytes=a-b`, `bytes=a-` or `bytes=-n` range against the size; null when absent, 'unsatisfiable' when outside. */
export function parseRange(header: string | undefined, size: number): ByteRange | null | 'unsatisfiable' {
  if (!header) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return null; // several ranges or a malformed header: RFC 9110 lets us send it all
  if (m[1] === '') {
    const suffix = Number(m[2]);
    return suffix === 0 ? 'unsatisfiable' : { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  return start >= size || start > end ? 'unsatisfiable' : { start, end };
}

const PAGE_MAX = 1000;

export class JobOutputService {
  constructor(private readonly deps: { jobs: JobRepository; store: BlobStore }) {}

  private async job(tenantId: string, id: string) {
    const job = await this.deps.jobs.find(tenantId, id);
    if (!job) throw new NotFoundError('job', id);
    return job;
  }

  async artifacts(tenantId: string, id: string): Promise<StoredArtifact[]> {
    await this.job(tenantId, id);
    return this.deps.jobs.artifacts(id);
  }

  /** 409 while the job may still produce it; 404 once it has ended without it. */
  async artifact(tenantId: string, id: string, name: string): Promise<StoredArtifact> {
    const job = await this.job(tenantId, id);
    const found = (await this.deps.jobs.artifacts(id)).find((a) => a.name === name);
    if (found) return found;
    if (!isTerminal(job.status)) throw new ConflictError(`job ${id} is ${job.status} and has not produced ${name} yet`, 'ARTIFACT_NOT_READY');
    throw new NotFoundError('artifact', name);
  }

  async download(tenantId: string, id: string, name: string, rangeHeader: string | undefined, headOnly = false): Promise<ArtifactDownload> {
    const artifact = await this.artifact(tenantId, id, name);
    const range = parseRange(rangeHeader, artifact.sizeBytes);
    if (range === 'unsatisfiable') {
      throw new RangeNotSatisfiableError(rangeHeader ?? '', artifact.sizeBytes);
    }
    return { artifact, range, body: headOnly ? null : await this.deps.store.stream(artifact.storageKey, range ?? undefined) };
  }

  async metrics(tenantId: string, id: string) {
    await this.job(tenantId, id);
    return this.deps.jobs.metricSummary(id);
  }

  async series(tenantId: string, id: string, name: string, q: { page_size?: number; page_token?: string }) {
    await this.job(tenantId, id);
    const limit = q.page_size ?? 500;
    if (!Number.isInteger(limit) || limit < 1 || limit > PAGE_MAX) throw new ValidationError([{ field: 'page_size', reason: `must be an integer from 1 to ${PAGE_MAX}` }]);
    let afterId: bigint | undefined;
    if (q.page_token !== undefined) {
      const raw = Buffer.from(q.page_token, 'base64url').toString('utf8');
      if (!/^m\d+$/.test(raw)) throw new ValidationError([{ field: 'page_token', reason: 'is not a token this API returned' }]);
      afterId = BigInt(raw.slice(1));
    }
    const rows = await this.deps.jobs.metricSeries(id, name, { ...(afterId !== undefined ? { afterId } : {}), limit: limit + 1 });
    if (rows.length === 0 && afterId === undefined) throw new NotFoundError('metric', name);
    const items = rows.slice(0, limit);
    const last = items[items.length - 1];
    return { items, next_page_token: rows.length > limit && last ? Buffer.from(`m${last.id}`).toString('base64url') : null };
  }
}
