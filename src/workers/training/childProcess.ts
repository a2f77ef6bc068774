// Forks the training process of one attempt (node child_process with an IPC channel) and gives the
// worker a typed handle on it: send, receive, kill, and how it ended.
import { fork } from 'node:child_process';
import { type ChildMessage, isChildMessage, type ParentMessage, type StartMessage } from './protocol.js';

export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The process could not be started at all. */
  error?: string;
}

export interface TrainingChild {
  readonly pid: number | undefined;
  /** Sends a message if the channel is still open; false when the process is gone. */
  send(message: ParentMessage): boolean;
  onMessage(listener: (message: ChildMessage) => void): void;
  kill(signal: NodeJS.Signals): void;
  /** Resolves once the process has exited and every message it sent has been received. */
  readonly exited: Promise<ChildExit>;
}

export interface ForkOptions {
  /** The child's entry module (src/cli/trainChild.ts under tsx, dist/cli/trainChild.js when built). */
  entry: string;
  /** Node options of the child (the worker's own, e.g. `--import tsx`). */
  execArgv: string[];
  start: StartMessage;
}

export function forkTrainingChild(o: ForkOptions): TrainingChild {
  // stdout/stderr are the worker's, so the child's JSON log lines land in the same stream.
  const child = fork(o.entry, [], { execArgv: o.execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'json' });
  const exited = new Promise<ChildExit>((resolve) => {
    // 'close' (not 'exit') comes after the IPC channel has delivered everything the child sent.
    child.once('close', (code, signal) => resolve({ code, signal }));
    child.on('error', (err) => {
      // Also emitted for a failed send or kill of a running child: only a spawn failure ends it here.
      if (child.pid === undefined) resolve({ code: null, signal: null, error: err.message });
    });
  });
  const send = (message: ParentMessage): boolean => {
    if (!child.connected) return false;
    try {
      return child.send(message, (err) => void err); // a child that exits meanwhile is seen through `exited`
    } catch {
      return false;
    }
  };
  send(o.start);
  return {
    pid: child.pid,
    send,
    onMessage(listener) {
      child.on('message', (m) => {
        if (isChildMessage(m)) listener(m);
      });
    },
    kill(signal) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
    exited,
  };
}
