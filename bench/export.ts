// Deployable int8 artifacts of the MNIST cnn at width 1 and 4 (16/32 and 64/128 filters), measured in
// ONNX Runtime (CPU provider) against the float ONNX of the same network:
//   npm run bench:export -- [--widths 1,4] [--threads 1] [--train 4000] [--test 2000] [--epochs 2] [--runs 300] [--batch-runs 40]
// A short real QAT on MNIST per width (Adam, lr 2e-3 / width), then: file sizes, accuracy of int8/float
// ONNX on the held-out digits, ORT int8 vs the integer reference (argmax agreement, max |Δ logit|),
// batch-1 latency and batch-256 throughput, and which integer kernels ORT fused the int8 graph into.
// Timing is paired: the int8 and float sessions run alternately (the order swapped every round), so
// both see the same load from whatever else shares the machine; the ratio reported is the median of
// the per-round ratios. The bars: at width 4, int8 throughput >= 2× float; at width 1, the int8
// ONNX file >= 3.5× smaller than the float one.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { runIntModel } from '../src/core/intref/index.js';
import { createSession, exportFloatOnnx, exportOnnx, exportTfjsInt8, foldedFloatWeights, type OnnxVerification, runOnce, verifyOnnx } from '../src/export/index.js';
import { decodeModel } from '../src/export/onnx/proto.js';
import { trainZoo } from '../tests/export/support/qatZoo.js';

const { values } = parseArgs({
  options: {
    widths: { type: 'string', default: '1,4' },
    threads: { type: 'string', default: '1' },
    train: { type: 'string', default: '4000' },
    test: { type: 'string', default: '2000' },
    epochs: { type: 'string', default: '2' },
    runs: { type: 'string', default: '300' },
    'batch-runs': { type: 'string', default: '40' },
    lr: { type: 'string' },
  },
});
const threads = Number(values.threads);
const log = (s: string) => process.stderr.write(`${s}\n`);

/** The node types ORT executes after its optimizations: shows what was fused into integer kernels. */
async function optimizedOps(bytes: Uint8Array): Promise<string[]> {
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-export-'));
  try {
    const file = path.join(dir, 'optimized.onnx');
    const s = await ort.InferenceSession.create(bytes, { executionProviders: ['cpu'], graphOptimizationLevel: 'all', intraOpNumThreads: threads, optimizedModelFilePath: file, logSeverityLevel: 3 });
    await s.release();
    return decodeModel(new Uint8Array(readFileSync(file))).graph!.node!.map((n) => (n.domain ? `${n.domain.replace('com.microsoft', 'ms')}.${n.opType}` : n.opType!));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface Paired {
  int8Ms: number;
  floatMs: number;
  /** Median over rounds of float time / int8 time. */
  speedup: number;
}

const median = (a: number[]) => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)]!;

/** Alternating runs of both sessions on the same input; warm-up first (ORT packs weights on first use). */
async function paired(int8: Uint8Array, float: Uint8Array, x: Float32Array, batch: number, runs: number): Promise<Paired> {
  const sessions = [await createSession(int8, { threads }), await createSession(float, { threads })];
  const shape = [28, 28, 1];
  const input = x.subarray(0, batch * 784);
  try {
    for (let i = 0; i < 5; i++) for (const s of sessions) await runOnce(s, input, batch, shape);
    const ms: [number[], number[]] = [[], []];
    for (let r = 0; r < runs; r++) {
      for (const i of r % 2 === 0 ? [0, 1] : [1, 0]) {
        const t0 = performance.now();
        await runOnce(sessions[i]!, input, batch, shape);
        ms[i]!.push(performance.now() - t0);
      }
    }
    return { int8Ms: median(ms[0]), floatMs: median(ms[1]), speedup: median(ms[0].map((t, r) => ms[1][r]! / t)) };
  } finally {
    for (const s of sessions) await s.release();
  }
}

interface Row {
  width: number;
  filters: string;
  int8Bytes: number;
  floatBytes: number;
  tfjsBytes: number;
  int8: OnnxVerification;
  float: OnnxVerification;
  latency: Paired;
  throughput: Paired;
  fused: string[];
}

const rows: Row[] = [];
for (const width of values.widths.split(',').map(Number)) {
  const t0 = performance.now();
  const z = await trainZoo('cnn', { width, train: Number(values.train), test: Number(values.test), epochs: Number(values.epochs), lr: values.lr ? Number(values.lr) : 2e-3 / width });
  log(`width ${width}: QAT ${((performance.now() - t0) / 1000).toFixed(1)}s, simulated accuracy ${z.simulatedAccuracy}`);
  const int8Bytes = exportOnnx(z.intModel, { variant: 'int8' });
  const floatBytes = exportFloatOnnx(z.intModel, foldedFloatWeights(z.intModel, z.qatModel));
  const tfjs = await exportTfjsInt8(z.intModel);
  const t1 = performance.now();
  const reference = runIntModel(z.intModel, z.test.x, z.test.y.length);
  log(`width ${width}: integer reference on ${z.test.y.length} digits ${((performance.now() - t1) / 1000).toFixed(1)}s`);
  const int8 = await verifyOnnx(int8Bytes, z.test, { reference, threads, timing: false });
  const float = await verifyOnnx(floatBytes, z.test, { threads, timing: false });
  const latency = await paired(int8Bytes, floatBytes, z.test.x, 1, Number(values.runs));
  const throughput = await paired(int8Bytes, floatBytes, z.test.x, 256, Number(values['batch-runs']));
  const filters = z.intModel.ops.filter((o) => o.kind === 'conv2d').map((o) => z.intModel.tensors[o.inputs[1]!]!.shape[3]).join('/');
  rows.push({ width, filters, int8Bytes: int8Bytes.length, floatBytes: floatBytes.length, tfjsBytes: tfjs.weights.length + JSON.stringify(tfjs.modelJson).length, int8, float, latency, throughput, fused: await optimizedOps(int8Bytes) });
  z.qatModel.dispose();
}

const kb = (b: number) => `${(b / 1024).toFixed(1)} KB`;
const pct = (v: number | null) => (v === null ? '-' : `${(100 * v).toFixed(2)}%`);
const header = ['width', 'filters', 'int8 onnx', 'float onnx', 'float/int8', 'tfjs', 'acc int8', 'acc float', 'agree vs ref', 'max |Δ|', 'b1 int8 ms', 'b1 float ms', 'b256 int8 /s', 'b256 float /s', 'int8/float b256'];
const table = rows.map((r) => [
  String(r.width),
  r.filters,
  kb(r.int8Bytes),
  kb(r.floatBytes),
  `${(r.floatBytes / r.int8Bytes).toFixed(2)}×`,
  kb(r.tfjsBytes),
  pct(r.int8.metrics.accuracy ?? null),
  pct(r.float.metrics.accuracy ?? null),
  pct(r.int8.reference!.agreement),
  String(r.int8.reference!.maxAbsLogitDiff),
  r.latency.int8Ms.toFixed(3),
  r.latency.floatMs.toFixed(3),
  (256000 / r.throughput.int8Ms).toFixed(0),
  (256000 / r.throughput.floatMs).toFixed(0),
  `${r.throughput.speedup.toFixed(2)}×`,
]);
const widthsOf = header.map((h, i) => Math.max(h.length, ...table.map((r) => r[i]!.length)));
const line = (cells: string[]) => cells.map((c, i) => c.padStart(widthsOf[i]!)).join('  ');
console.log(`ONNX Runtime ${ort.env.versions.common}, CPU provider, ${threads} thread(s), test digits: ${rows[0]?.int8.samples}`);
console.log(line(header));
for (const r of table) console.log(line(r));
for (const r of rows) {
  const compute = r.fused.filter((o) => /Conv|Gemm|MatMul/.test(o));
  console.log(`width ${r.width}: ORT executes ${compute.join(', ')}; unfused float Conv/Gemm/MatMul: ${compute.filter((o) => !o.includes('.')).length}`);
}
for (const r of rows) console.log(`width ${r.width}: batch-1 latency int8/float ${r.latency.speedup.toFixed(2)}× faster (median of paired rounds)`);
const w1 = rows.find((r) => r.width === 1);
if (w1) console.log(`bar (width 1, int8 file >= 3.5x smaller than float): ${w1.int8Bytes} vs ${w1.floatBytes} bytes, ${(w1.floatBytes / w1.int8Bytes).toFixed(3)}x ${w1.floatBytes / w1.int8Bytes >= 3.5 ? 'PASS' : 'FAIL'}`);
const w4 = rows.find((r) => r.width === 4);
if (w4) console.log(`bar (width 4, int8 throughput >= 2x float): ${w4.throughput.speedup.toFixed(2)}x ${w4.throughput.speedup >= 2 ? 'PASS' : 'FAIL'}`);
console.log(
  JSON.stringify(
    rows.map((r) => ({
      width: r.width,
      filters: r.filters,
      bytes: { int8_onnx: r.int8Bytes, float_onnx: r.floatBytes, tfjs: r.tfjsBytes },
      accuracy: { int8: r.int8.metrics.accuracy, float: r.float.metrics.accuracy },
      reference: r.int8.reference,
      latency_ms: r.latency,
      batch256_ms: r.throughput,
      threads,
    })),
  ),
);
