// DESIGN §4 as a table: every allowed move, and a sample of refused ones.
import { describe, expect, it } from 'vitest';
import { InvalidTransitionError } from '../../src/errors/index.js';
import { assertTransition, isTerminal, JOB_STATUSES, sourcesOf } from '../../src/services/jobLifecycle.js';

describe('job lifecycle', () => {
  it('allows the documented path, cancellation from every non-terminal state, and new attempts', () => {
    for (const [from, to] of [
      ['QUEUED', 'PREPARING'],
      ['PREPARING', 'RUNNING'],
      ['RUNNING', 'SUCCEEDED'],
      ['RUNNING', 'FAILED'],
      ['CANCELLING', 'CANCELLED'],
      ['RUNNING', 'QUEUED'],
      ['FAILED', 'QUEUED'],
      ['CANCELLED', 'QUEUED'],
    ] as const) {
      expect(() => assertTransition(from, to), `${from} → ${to}`).not.toThrow();
    }
    expect(sourcesOf('CANCELLING').sort()).toEqual(['PREPARING', 'QUEUED', 'RUNNING']);
  });

  it('refuses moves out of SUCCEEDED, skipping RUNNING, and cancelling a terminal job', () => {
    for (const to of JOB_STATUSES) expect(() => assertTransition('SUCCEEDED', to)).toThrow(InvalidTransitionError);
    expect(() => assertTransition('QUEUED', 'SUCCEEDED')).toThrow('a job cannot move from QUEUED to SUCCEEDED');
    expect(() => assertTransition('FAILED', 'CANCELLING')).toThrow(InvalidTransitionError);
    expect(JOB_STATUSES.filter(isTerminal)).toEqual(['SUCCEEDED', 'FAILED', 'CANCELLED']);
  });
});
