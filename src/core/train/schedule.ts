// Learning-rate schedules as pure functions of the global step, so a resumed run (or a shard that
// starts at step s) gets exactly the rate an uninterrupted run would have used.

export type LrSchedule =
  | { kind: 'constant' }
  /** lr · gamma^floor(step / stepSize) (PyTorch StepLR, counted in steps). */
  | { kind: 'step'; stepSize: number; gamma: number }
  /** Half-cosine from lr down to minLr over totalSteps (after warmup), then minLr. */
  | { kind: 'cosine'; totalSteps: number; minLr?: number };

export interface LrConfig {
  lr: number;
  schedule?: LrSchedule;
  /** Linear warmup from lr/warmupSteps to lr over the first warmupSteps steps (default 0: none). */
  warmupSteps?: number;
}

export function validateLrConfig(c: LrConfig): void {
  if (!(c.lr > 0) || !Number.isFinite(c.lr)) throw new Error(`learning rate must be a positive number, got ${c.lr}`);
  const w = c.warmupSteps ?? 0;
  if (!Number.isInteger(w) || w < 0) throw new Error(`warmupSteps must be a non-negative integer, got ${w}`);
  const s = c.schedule;
  if (s?.kind === 'step' && (!Number.isInteger(s.stepSize) || s.stepSize < 1 || !(s.gamma > 0))) {
    throw new Error('step schedule needs an integer stepSize >= 1 and gamma > 0');
  }
  if (s?.kind === 'cosine' && (!Number.isInteger(s.totalSteps) || s.totalSteps < 1 || (s.minLr ?? 0) < 0)) {
    throw new Error('cosine schedule needs an integer totalSteps >= 1 and minLr >= 0');
  }
}

/** The learning rate for the update made at 0-based `step`. */
export function learningRateAt(c: LrConfig, step: number): number {
  const warmup = c.warmupSteps ?? 0;
  if (step < warmup) return (c.lr * (step + 1)) / warmup;
  const t = step - warmup;
  const s = c.schedule ?? { kind: 'constant' };
  switch (s.kind) {
    case 'constant':
      return c.lr;
    case 'step':
      return c.lr * Math.pow(s.gamma, Math.floor(t / s.stepSize));
    case 'cosine': {
      const min = s.minLr ?? 0;
      if (t >= s.totalSteps) return min;
      return min + ((c.lr - min) * (1 + Math.cos((Math.PI * t) / s.totalSteps))) / 2;
    }
  }
}

/** Number of batches in one epoch of n samples. */
export function stepsPerEpoch(n: number, batchSize: number, dropLast = false): number {
  return dropLast ? Math.floor(n / batchSize) : Math.ceil(n / batchSize);
}
