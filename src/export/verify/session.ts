// ONNX Runtime sessions for verification: CPU execution provider only, created from the model's bytes
// (nothing is read from or written to disk), all graph optimizations on — as a deployment would run it.
import * as ort from 'onnxruntime-node';

/** The ONNX Runtime that verified the exports, for reports. */
export const ORT_VERSION: string = ort.env.versions.node ?? ort.env.versions.common;

export interface SessionOptions {
  /** Intra-op threads (default 1: reproducible numbers on a shared machine; raise for deployment-like throughput). */
  threads?: number;
  /** Graph optimization level (default 'all': ORT's QDQ fusion and NHWC int8 kernels need it). */
  optimization?: 'disabled' | 'basic' | 'extended' | 'all';
}

export function createSession(bytes: Uint8Array, o: SessionOptions = {}): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(bytes, {
    executionProviders: ['cpu'],
    graphOptimizationLevel: o.optimization ?? 'all',
    intraOpNumThreads: o.threads ?? 1,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    logSeverityLevel: 3,
  });
}

/** Runs the first input on `x` ([batch, ...sampleShape]) and returns a copy of the first output. */
export async function runOnce(session: ort.InferenceSession, x: Float32Array, batch: number, sampleShape: number[]): Promise<Float32Array> {
  const input = session.inputNames[0]!;
  const output = session.outputNames[0]!;
  const result = await session.run({ [input]: new ort.Tensor('float32', x, [batch, ...sampleShape]) });
  const y = result[output]!;
  const data = Float32Array.from(y.data as Float32Array);
  for (const t of Object.values(result)) t.dispose();
  return data;
}

/** Outputs for a whole set, `batchSize` samples at a time, concatenated row-major. */
export async function runAll(session: ort.InferenceSession, x: Float32Array, sampleShape: number[], batchSize: number): Promise<Float32Array> {
  const size = sampleShape.reduce((a, b) => a * b, 1);
  const n = x.length / size;
  const parts: Float32Array[] = [];
  for (let start = 0; start < n; start += batchSize) {
    const rows = Math.min(batchSize, n - start);
    parts.push(await runOnce(session, x.subarray(start * size, (start + rows) * size), rows, sampleShape));
  }
  const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
