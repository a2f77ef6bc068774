// Latency and throughput of an ONNX session, measured the way a serving process sees them: warm-up
// runs first (ORT allocates and packs weights on the first run), then each run timed on its own; the
// median resists the other processes sharing the machine.
import type * as ort from 'onnxruntime-node';
import { runOnce } from './session.js';

export interface TimingOptions {
  /** Batch-1 runs timed for latency (default 50). */
  latencyRuns?: number;
  /** Batches timed for throughput (default 10). */
  throughputRuns?: number;
  /** Samples per throughput batch (default 256). */
  throughputBatch?: number;
  /** Untimed runs before each measurement (default 3). */
  warmup?: number;
}

export interface Timing {
  latencyMs: { median: number; p90: number; runs: number };
  throughput: { samplesPerS: number; batch: number; medianBatchMs: number; runs: number };
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

async function timeRuns(session: ort.InferenceSession, x: Float32Array, batch: number, shape: number[], runs: number, warmup: number): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await runOnce(session, x, batch, shape);
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await runOnce(session, x, batch, shape);
    ms.push(performance.now() - t0);
  }
  return ms.sort((a, b) => a - b);
}

/** Samples are taken from the start of `x` (cycled if it holds fewer than a throughput batch). */
export async function measureTiming(session: ort.InferenceSession, x: Float32Array, sampleShape: number[], o: TimingOptions = {}): Promise<Timing> {
  const size = sampleShape.reduce((a, b) => a * b, 1);
  const latencyRuns = o.latencyRuns ?? 50;
  const throughputRuns = o.throughputRuns ?? 10;
  const batch = o.throughputBatch ?? 256;
  const warmup = o.warmup ?? 3;
  const one = x.slice(0, size);
  const many = new Float32Array(batch * size);
  for (let i = 0; i < batch; i++) many.set(x.subarray((i * size) % x.length, ((i * size) % x.length) + size), i * size);
  const latency = await timeRuns(session, one, 1, sampleShape, latencyRuns, warmup);
  const batches = await timeRuns(session, many, batch, sampleShape, throughputRuns, warmup);
  const medianBatchMs = quantile(batches, 0.5);
  return {
    latencyMs: { median: quantile(latency, 0.5), p90: quantile(latency, 0.9), runs: latencyRuns },
    throughput: { samplesPerS: (batch * 1000) / medianBatchMs, batch, medianBatchMs, runs: throughputRuns },
  };
}
