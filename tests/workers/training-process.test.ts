// The pieces around a job's training process that need no training: how the worker finds the child's
// entry (source under tsx, or dist/), the IPC messages it accepts, and how an exit without a result reads.
import { describe, expect, it } from 'vitest';
import { trainChildEntry } from '../../src/cli/workerRuntime.js';
import { isChildMessage, isParentMessage, describeCheckpoint } from '../../src/workers/training/protocol.js';
import { describeExit } from '../../src/workers/training/trainJob.js';

describe('the training process entry', () => {
  it('is the .ts source when the worker runs from source, with tsx as its loader', () => {
    expect(trainChildEntry('file:///app/src/cli/workerRuntime.ts', ['--import', 'tsx'])).toEqual({ entry: '/app/src/cli/trainChild.ts', execArgv: ['--import', 'tsx'] });
    // Under another TS runner (e.g. the test runner), tsx is added.
    expect(trainChildEntry('file:///app/src/cli/workerRuntime.ts', ['--conditions', 'development'])).toEqual({ entry: '/app/src/cli/trainChild.ts', execArgv: ['--conditions', 'development', '--import', 'tsx'] });
    expect(trainChildEntry('file:///app/src/cli/workerRuntime.ts', ['--import=tsx']).execArgv).toEqual(['--import=tsx']);
  });

  it('is the compiled .js in dist/, with the worker node options but not its debugger', () => {
    expect(trainChildEntry('file:///app/dist/cli/workerRuntime.js', ['--max-old-space-size=4096', '--inspect=9229'])).toEqual({ entry: '/app/dist/cli/trainChild.js', execArgv: ['--max-old-space-size=4096'] });
  });
});

describe('the IPC protocol', () => {
  it('accepts the parent messages and nothing else', () => {
    const start = { type: 'start', ref: { jobId: 'j', attempt: 2, workerId: 'w' }, config: { logLevel: 'info' }, backend: 'wasm', versions: {} };
    expect([start, { type: 'cancel' }, { type: 'handover' }].map(isParentMessage)).toEqual([true, true, true]);
    expect([null, 'start', { type: 'start' }, { ...start, ref: { jobId: 'j', attempt: 1.5, workerId: 'w' } }, { type: 'kill' }].map(isParentMessage)).toEqual([false, false, false, false, false]);
  });

  it('accepts the child messages and nothing else', () => {
    const ok = [
      { type: 'progress', progress: { phase: 'TRAINING_FLOAT', epoch: 3, step: 27 } },
      { type: 'checkpoint', info: { phase: 'TRAINING_QAT', epoch: 1, step: 9 } },
      { type: 'notify', tenantId: 't', event: 'job.started', payload: { job_id: 'j' } },
      { type: 'result', result: { outcome: 'succeeded' } },
      { type: 'result', result: { outcome: 'failed', code: 'INVALID_DATASET', message: 'row 3', unrecoverable: true } },
      { type: 'result', result: { outcome: 'handed-over', checkpoint: { phase: 'TRAINING_FLOAT', epoch: 2, step: 18 } } },
    ];
    expect(ok.map(isChildMessage)).toEqual(ok.map(() => true));
    const bad = [{ type: 'result', result: { outcome: 'exploded' } }, { type: 'result', result: { outcome: 'failed' } }, { type: 'progress' }, { type: 'hello' }, 42];
    expect(bad.map(isChildMessage)).toEqual(bad.map(() => false));
    expect(describeCheckpoint({ phase: 'TRAINING_QAT', epoch: 2, step: 940 })).toBe('TRAINING_QAT epoch 2, step 940');
  });
});

describe('a training process that ended without a result', () => {
  it('says how, as the WORKER_CRASHED message', () => {
    expect(describeExit({ code: null, signal: 'SIGKILL' })).toBe('the training process was killed by SIGKILL (out of memory, or killed from outside)');
    expect(describeExit({ code: 134, signal: null })).toMatch(/aborted.*out of memory/);
    expect(describeExit({ code: null, signal: 'SIGSEGV' })).toBe('the training process was killed by SIGSEGV');
    expect(describeExit({ code: 1, signal: null })).toBe('the training process exited with code 1');
    expect(describeExit({ code: null, signal: null, error: 'spawn ENOMEM' })).toBe('the training process could not be started: spawn ENOMEM');
  });
});
