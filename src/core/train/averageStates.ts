// Merging shard states after a data-parallel round (DESIGN §5): every shard started from the same
// global state and trained on its own samples, so the merged weights and optimizer slots are the
// sample-weighted mean. With plain SGD and one step per round this equals one step on the union batch
// (the mean-loss gradient of the union is the sample-weighted mean of the shards' gradients).
import type { TrainState } from './state.js';
import type { TensorRecord } from './tensorRecord.js';
import { sameShape } from './tensorRecord.js';

/** How one named tensor is merged: weighted mean (default), elementwise min or max (range observers). */
export type Reduction = 'mean' | 'min' | 'max';

export interface AverageOptions {
  /** Per weight/slot name; e.g. observer minimums 'min' and maximums 'max' (DESIGN §5). */
  reduction?: (name: string) => Reduction;
}

/**
 * Sample-weighted merge of shard states. Weights and optimizer slots are merged per name; the step
 * must agree; the data cursor and epoch sums are per-shard bookkeeping and are taken from states[0].
 */
export function averageStates(states: readonly TrainState[], sampleCounts: readonly number[], opts: AverageOptions = {}): TrainState {
  const first = states[0];
  if (first == null) throw new Error('averageStates needs at least one state');
  if (sampleCounts.length !== states.length) throw new Error(`got ${states.length} states but ${sampleCounts.length} sample counts`);
  if (sampleCounts.some((n) => !(n >= 0) || !Number.isFinite(n))) throw new Error('sample counts must be finite and >= 0');
  const total = sampleCounts.reduce((a, b) => a + b, 0);
  if (!(total > 0)) throw new Error('sample counts sum to zero');
  for (const s of states) {
    if (s.step !== first.step) throw new Error(`cannot average states at different steps (${first.step} vs ${s.step})`);
    if (s.optimizer.kind !== first.optimizer.kind) throw new Error('cannot average states of different optimizers');
  }
  const coeffs = sampleCounts.map((n) => n / total);
  const reduce = opts.reduction ?? (() => 'mean' as const);
  const merge = (pick: (s: TrainState) => Record<string, TensorRecord>, what: string, mayBeMissing: boolean): Record<string, TensorRecord> => {
    const out: Record<string, TensorRecord> = {};
    for (const name of unionKeys(states.map(pick))) {
      const records = states.map((s) => pick(s)[name]);
      if (!mayBeMissing && records.some((r) => r == null)) throw new Error(`${what} '${name}' is missing from some states`);
      out[name] = mergeRecords(name, records, coeffs, reduce(name));
    }
    return out;
  };
  return {
    version: first.version,
    step: first.step,
    cursor: { ...first.cursor },
    sums: { ...first.sums },
    optimizer: { kind: first.optimizer.kind, slots: merge((s) => s.optimizer.slots, 'optimizer slot', true) },
    weights: merge((s) => s.weights, 'weight', false),
  };
}

function unionKeys(maps: ReadonlyArray<Record<string, TensorRecord>>): string[] {
  const keys = new Set<string>();
  for (const m of maps) for (const k of Object.keys(m)) keys.add(k);
  return [...keys].sort();
}

/**
 * A slot one shard never created (e.g. no gradient reached it yet) counts as zeros, which is what
 * that shard's optimizer would have used. Weights must be present in every state.
 */
function mergeRecords(name: string, records: ReadonlyArray<TensorRecord | undefined>, coeffs: readonly number[], how: Reduction): TensorRecord {
  const ref = records.find((r) => r != null)!;
  const n = ref.data.length;
  for (const r of records) {
    if (r != null && (!sameShape(r.shape, ref.shape) || r.data.length !== n)) throw new Error(`'${name}' has different shapes across states`);
  }
  if (ref.dtype === 'int32' && how === 'mean') throw new Error(`'${name}' is int32 and cannot be averaged`);
  // Accumulate in float64: the mean of a few float32 values is then exact up to one final rounding.
  const acc = new Float64Array(n);
  if (how === 'mean') {
    records.forEach((r, j) => {
      if (r == null) return;
      const c = coeffs[j]!;
      for (let i = 0; i < n; i++) acc[i]! += c * r.data[i]!;
    });
  } else {
    const present = records.filter((r): r is TensorRecord => r != null);
    acc.set(present[0]!.data);
    for (const r of present.slice(1)) {
      for (let i = 0; i < n; i++) acc[i] = how === 'min' ? Math.min(acc[i]!, r.data[i]!) : Math.max(acc[i]!, r.data[i]!);
    }
  }
  const data = ref.dtype === 'int32' ? Int32Array.from(acc) : Float32Array.from(acc);
  return { shape: ref.shape.slice(), dtype: ref.dtype, data };
}
