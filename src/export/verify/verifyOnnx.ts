// verifyOnnx: loads exported ONNX bytes into ONNX Runtime (CPU) and measures what the model card
// reports — accuracy on a held-out test set, agreement with the integer reference (the IntModel run by
// src/core/intref, which predicts the runtime's integers), batch-1 latency and batch-256 throughput.
import type { IntModel } from '../../core/convert/types.js';
import type { TaskMetrics } from '../../core/eval/metrics.js';
import { runIntModel } from '../../core/intref/index.js';
import { createSession, runAll, type SessionOptions } from './session.js';
import { measureTiming, type Timing, type TimingOptions } from './timing.js';

export interface TestSet {
  /** Row-major samples [N, ...sampleShape], preprocessed as for training. */
  x: Float32Array;
  /** Class labels (classification) or targets (regression, N × outputs). */
  y: Int32Array | Float32Array;
  sampleShape: number[];
}

export interface VerifyOptions extends SessionOptions {
  /** The integer reference: an IntModel to run on the test set, or its outputs already computed. */
  reference?: IntModel | Float32Array;
  /** Samples per inference call for the accuracy pass (default 256). */
  batchSize?: number;
  /** Measure latency and throughput (default true); false skips timing entirely. */
  timing?: boolean | TimingOptions;
}

export interface ReferenceAgreement {
  /** Fraction of samples whose argmax (classification) equals the reference's. */
  agreement: number | null;
  maxAbsLogitDiff: number;
  /** Fraction of output values that differ at all (0: bit-exact). */
  differing: number;
}

export interface OnnxVerification {
  samples: number;
  input: { name: string; shape: number[] };
  output: { name: string; width: number };
  /** As src/core/eval reports them: accuracy (classification) or mse and mae (regression). */
  metrics: TaskMetrics;
  reference: ReferenceAgreement | null;
  timing: Timing | null;
  threads: number;
}

export function argmaxRows(v: Float32Array, width: number): Int32Array {
  const out = new Int32Array(v.length / width);
  for (let r = 0; r < out.length; r++) {
    let best = 0;
    for (let k = 1; k < width; k++) if (v[r * width + k]! > v[r * width + best]!) best = k;
    out[r] = best;
  }
  return out;
}

export function compareOutputs(a: Float32Array, b: Float32Array, width: number, classification: boolean): ReferenceAgreement {
  if (a.length !== b.length) throw new RangeError(`outputs of ${a.length} and ${b.length} values cannot be compared`);
  let max = 0;
  let differing = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (d > max) max = d;
    if (d > 0) differing++;
  }
  let agreement: number | null = null;
  if (classification) {
    const ia = argmaxRows(a, width);
    const ib = argmaxRows(b, width);
    agreement = ia.reduce((n, v, i) => n + (v === ib[i] ? 1 : 0), 0) / ia.length;
  }
  return { agreement, maxAbsLogitDiff: max, differing: differing / a.length };
}

function taskMetrics(outputs: Float32Array, y: Int32Array | Float32Array, n: number): TaskMetrics {
  if (y instanceof Int32Array) {
    const predicted = argmaxRows(outputs, outputs.length / n);
    return { samples: n, accuracy: predicted.reduce((c, p, i) => c + (p === y[i] ? 1 : 0), 0) / n };
  }
  if (y.length !== outputs.length) throw new RangeError(`${y.length} targets for ${outputs.length} outputs`);
  let se = 0;
  let ae = 0;
  outputs.forEach((v, i) => {
    se += (v - y[i]!) ** 2;
    ae += Math.abs(v - y[i]!);
  });
  return { samples: n, mse: se / outputs.length, mae: ae / outputs.length };
}

export async function verifyOnnx(bytes: Uint8Array, test: TestSet, o: VerifyOptions = {}): Promise<OnnxVerification> {
  const size = test.sampleShape.reduce((a, b) => a * b, 1);
  const n = test.x.length / size;
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`test set of ${test.x.length} values is not a whole number of [${test.sampleShape}] samples`);
  const session = await createSession(bytes, o);
  try {
    const outputs = await runAll(session, test.x, test.sampleShape, o.batchSize ?? 256);
    const width = outputs.length / n;
    const classification = test.y instanceof Int32Array;
    const metrics = taskMetrics(outputs, test.y, n);
    let reference: ReferenceAgreement | null = null;
    if (o.reference) {
      const ref = o.reference instanceof Float32Array ? o.reference : runIntModel(o.reference, test.x, n);
      reference = compareOutputs(outputs, ref, width, classification);
    }
    const timing = o.timing === false ? null : await measureTiming(session, test.x, test.sampleShape, o.timing === true || o.timing === undefined ? {} : o.timing);
    return {
      samples: n,
      input: { name: session.inputNames[0]!, shape: [-1, ...test.sampleShape] },
      output: { name: session.outputNames[0]!, width },
      metrics,
      reference,
      timing,
      threads: o.threads ?? 1,
    };
  } finally {
    await session.release();
  }
}
