// The job state machine of DESIGN §4. Every status change goes through `assertTransition`, and the
// repository applies it only if the row is still in an allowed source state (no lost updates between
// the API and workers).
import { InvalidTransitionError } from '../errors/index.js';

export const JOB_STATUSES = ['QUEUED', 'PREPARING', 'RUNNING', 'CANCELLING', 'SUCCEEDED', 'FAILED', 'CANCELLED'] as const;
export type JobStatusName = (typeof JOB_STATUSES)[number];

export const TERMINAL: ReadonlySet<JobStatusName> = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED']);

/** Where each status may go. Back to QUEUED: a lost or drained worker's job resumes, or a retry. */
const NEXT: Record<JobStatusName, readonly JobStatusName[]> = {
  QUEUED: ['PREPARING', 'CANCELLING', 'FAILED'],
  PREPARING: ['RUNNING', 'QUEUED', 'FAILED', 'CANCELLING'],
  RUNNING: ['SUCCEEDED', 'FAILED', 'QUEUED', 'CANCELLING'],
  CANCELLING: ['CANCELLED', 'FAILED'],
  SUCCEEDED: [],
  FAILED: ['QUEUED'],
  CANCELLED: ['QUEUED'],
};

export const isTerminal = (s: JobStatusName): boolean => TERMINAL.has(s);

/** The statuses a job may be in for a move to `to` to be legal. */
export function sourcesOf(to: JobStatusName): JobStatusName[] {
  return JOB_STATUSES.filter((from) => NEXT[from].includes(to));
}

export function assertTransition(from: JobStatusName, to: JobStatusName): void {
  if (!NEXT[from].includes(to)) throw new InvalidTransitionError(from, to);
}
