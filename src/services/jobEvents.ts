// A job's event feed (GET /v1/jobs/{id}/events): replays its `job_events` rows (transitions, progress,
// metrics, …) after a cursor, then follows new ones until the job is terminal.
//
// Following is done by polling `eventsAfter` (every 500 ms by default), not by LISTEN/NOTIFY or Redis:
// Postgres is the source of truth and workers already write every event there (transitions in the same
// transaction as the status change), so a poll on the (job_id, id) index sees exactly what is committed,
// needs no extra connection per stream and survives API restarts (clients resume with Last-Event-ID).
// A NOTIFY fired by the writers could replace the timer later without changing this contract.
//
// Commit order: ids come from one bigserial, assigned at insert and not at commit, so two writers of the
// same job could commit out of id order and a cursor past the later id would skip the earlier one. Every
// transaction that inserts a job's events first takes an advisory lock keyed by the job
// (src/db/jobRepository.ts, lockJobEvents), so one job's events get their ids in commit order and the
// cursor can trust that everything below the last id it saw is already visible.
import type { JobRepository, StoredEvent } from '../db/jobRepository.js';
import { NotFoundError, ValidationError } from '../errors/index.js';
import { isTerminal, JOB_STATUSES, type JobStatusName } from './jobLifecycle.js';

/** One event as it goes on the wire: `id` is the `job_events` id (a decimal string), `data` the event's JSON plus `at`. */
export interface JobStreamEvent {
  id: string;
  type: string;
  data: Record<string, unknown>;
}

/** Where a stream writes. A returned promise (e.g. waiting for a slow client to drain) is awaited. */
export interface JobEventSink {
  event(e: JobStreamEvent): void | Promise<void>;
  /** Nothing was written for `heartbeatMs`: a keep-alive for proxies and clients. */
  heartbeat(): void | Promise<void>;
  /** The job is terminal and every event up to its terminal transition was sent. */
  end(status: JobStatusName): void | Promise<void>;
}

export interface JobEventStream {
  jobId: string;
  /** The status the job had when the stream was opened. */
  status: JobStatusName;
  /**
   * Sends the events after the cursor, then follows until the job is terminal (then `end`) or `signal`
   * aborts (client gone, server closing). Resolves when it stops; rejects if the database fails.
   */
  follow(sink: JobEventSink, signal: AbortSignal): Promise<void>;
}

export interface JobEventOptions {
  jobs: JobRepository;
  /** How often a live stream asks Postgres for new events (ms). */
  pollIntervalMs?: number;
  /** A keep-alive is sent after this long without a write (ms). */
  heartbeatMs?: number;
  /** Rows per query. */
  batchSize?: number;
}

const CURSOR = /^[0-9]{1,19}$/;
const MAX_CURSOR = 2n ** 63n - 1n;

/** Parses a Last-Event-ID / last_event_id value (a job_events id); absent means from the beginning. */
export function parseEventCursor(value: string | undefined, field = 'Last-Event-ID'): bigint {
  if (value === undefined || value.trim() === '') return 0n;
  const v = value.trim();
  if (!CURSOR.test(v) || BigInt(v) > MAX_CURSOR) throw new ValidationError([{ field, reason: `must be an event id (a non-negative integer), got '${value}'` }]);
  return BigInt(v);
}

const asStatus = (v: unknown): JobStatusName | undefined => ((JOB_STATUSES as readonly unknown[]).includes(v) ? (v as JobStatusName) : undefined);

function wire(e: StoredEvent): JobStreamEvent {
  const data = e.data !== null && typeof e.data === 'object' && !Array.isArray(e.data) ? (e.data as Record<string, unknown>) : { value: e.data };
  return { id: e.id.toString(), type: e.type, data: { ...data, at: e.at.toISOString() } };
}

/** Resolves after `ms`, or early (without throwing) when `signal` aborts; leaves no timer behind. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

export class JobEventService {
  private readonly pollIntervalMs: number;
  private readonly heartbeatMs: number;
  private readonly batchSize: number;
  private active = 0;

  constructor(private readonly deps: JobEventOptions) {
    this.pollIntervalMs = deps.pollIntervalMs ?? 500;
    this.heartbeatMs = deps.heartbeatMs ?? 15_000;
    this.batchSize = deps.batchSize ?? 500;
  }

  /** Streams currently following a job (each one polls); back to 0 once every client has gone. */
  get activeStreams(): number {
    return this.active;
  }

  /** Checks the tenant owns the job (NotFoundError otherwise, before anything is streamed). */
  async open(tenantId: string, jobId: string, after: bigint = 0n): Promise<JobEventStream> {
    const job = await this.deps.jobs.find(tenantId, jobId);
    if (!job) throw new NotFoundError('job', jobId);
    const status = job.status as JobStatusName;
    return { jobId, status, follow: (sink, signal) => this.follow(jobId, status, after, sink, signal) };
  }

  private async follow(jobId: string, opened: JobStatusName, after: bigint, sink: JobEventSink, signal: AbortSignal): Promise<void> {
    this.active++;
    try {
      // The status as of the last transition event sent (transition events are written in the same
      // transaction as the status change), starting from the status read at open: if that was already
      // terminal, every event up to it is committed and the first drain below sends them all.
      let status = opened;
      let cursor = after;
      let lastWrite = Date.now();
      while (!signal.aborted) {
        // Drain everything committed after the cursor.
        for (;;) {
          const rows = await this.deps.jobs.eventsAfter(jobId, cursor, this.batchSize);
          if (signal.aborted) return;
          for (const row of rows) {
            await sink.event(wire(row));
            if (signal.aborted) return;
            cursor = row.id;
            if (row.type === 'transition') status = asStatus((row.data as { to?: unknown } | null)?.to) ?? status;
          }
          if (rows.length) lastWrite = Date.now();
          if (rows.length < this.batchSize) break;
        }
        if (isTerminal(status)) {
          await sink.end(status);
          return;
        }
        if (Date.now() - lastWrite >= this.heartbeatMs) {
          await sink.heartbeat();
          lastWrite = Date.now();
        }
        await pause(Math.min(this.pollIntervalMs, Math.max(0, this.heartbeatMs - (Date.now() - lastWrite))), signal);
      }
    } finally {
      this.active--;
    }
  }
}
