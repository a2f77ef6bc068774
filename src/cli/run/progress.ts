// Progress of `qat run` on stderr: a live bar per training phase on a terminal (epoch, step, loss,
// accuracy, samples/s, ETA), plain log lines otherwise (CI logs, pipes), so output stays greppable.
import { SingleBar } from 'cli-progress';
import type { Phase } from '../../core/pipeline/compare.js';
import type { TrainCallbacks } from '../../core/train/callbacks.js';

export interface ProgressOptions {
  /** Draw bars (stderr is a terminal) or print lines. */
  tty: boolean;
  log: (line: string) => void;
  stepsPerEpoch: number;
  batchSize: number;
  epochs: Partial<Record<Phase, number>>;
}

export interface RunProgress {
  phase(p: Phase | 'EXPORTING'): void;
  callbacks: TrainCallbacks;
  done(): void;
}

const pct = (v: number | undefined) => (v === undefined ? '–' : `${(v * 100).toFixed(2)}%`);

export function createProgress(o: ProgressOptions): RunProgress {
  const started = performance.now();
  const elapsed = () => `${((performance.now() - started) / 1000).toFixed(1)}s`;
  let current: Phase | 'EXPORTING' | null = null;
  let bar: SingleBar | null = null;
  let phaseStarted = 0;
  let firstStep = 0;
  let finished = false;

  const stopBar = () => {
    bar?.stop();
    bar = null;
  };
  const epochsOf = (p: Phase | 'EXPORTING' | null) => (p && p !== 'EXPORTING' ? (o.epochs[p] ?? 0) : 0);

  return {
    phase(p) {
      stopBar();
      current = p;
      phaseStarted = performance.now();
      firstStep = 0;
      o.log(`[${elapsed()}] ${p}`);
      const epochs = epochsOf(p);
      if (o.tty && epochs > 0) {
        bar = new SingleBar({
          stream: process.stderr,
          format: `  {bar} {percentage}% | epoch {epoch}/${epochs} | step {value}/{total} | loss {loss} | acc {acc} | {speed} samples/s | ETA {eta_formatted}`,
          barsize: 24,
          hideCursor: true,
          etaBuffer: 50,
        });
        bar.start(epochs * o.stepsPerEpoch, 0, { epoch: 1, loss: '–', acc: '–', speed: '–' });
      }
    },
    callbacks: {
      onStepEnd(s) {
        if (!bar) return;
        if (firstStep === 0) firstStep = s.step;
        const seconds = (performance.now() - phaseStarted) / 1000;
        const done = s.step - firstStep + 1;
        bar.update(done, {
          epoch: s.epoch + 1,
          loss: s.loss.toFixed(4),
          acc: pct(s.accuracy),
          speed: Math.round((done * o.batchSize) / Math.max(seconds, 1e-3)).toLocaleString('en-US'),
        });
      },
      onEpochEnd(e) {
        if (bar) return;
        const val = e.valLoss !== undefined ? `, val loss ${e.valLoss.toFixed(4)}${e.valAccuracy !== undefined ? `, val accuracy ${pct(e.valAccuracy)}` : ''}` : '';
        o.log(`[${elapsed()}]   ${current ?? ''} epoch ${e.epoch + 1}/${epochsOf(current)}: loss ${e.loss.toFixed(4)}${e.accuracy !== undefined ? `, accuracy ${pct(e.accuracy)}` : ''}${val}`);
      },
    },
    done() {
      if (finished) return;
      finished = true;
      stopBar();
      o.log(`[${elapsed()}] done`);
    },
  };
}
