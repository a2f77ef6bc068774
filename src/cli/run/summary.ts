// The comparison table `qat run` prints at the end: one line per variant, the headline metric and its
// change against float, then the deployed sizes.
import type { RunReport } from '../../export/report/index.js';

const ROWS: [key: string, label: string][] = [
  ['float', 'float'],
  ['ptq_weights_only', 'PTQ weights-only (simulated)'],
  ['ptq_int8', 'PTQ static int8'],
  ['qat_simulated', 'QAT (fake-quant)'],
  ['int8_reference', 'QAT int8 (integer reference)'],
  ['onnx_int8', 'model.int8.onnx (ONNX Runtime)'],
  ['onnx_float', 'model.float.onnx (unquantized)'],
];

export function formatSummary(r: RunReport): string {
  const classification = r.task === 'classification';
  const values = (classification ? r.accuracy : r.mse) as Record<string, number | undefined> | undefined;
  const fmt = (v: number) => (classification ? `${(v * 100).toFixed(2)}%` : v.toPrecision(4));
  const delta = (v: number, base: number) => (classification ? `${v >= base ? '+' : ''}${((v - base) * 100).toFixed(2)}` : `${v >= base ? '+' : ''}${(v - base).toPrecision(3)}`);
  const base = values?.float ?? Number.NaN;
  const lines = [`${classification ? 'accuracy' : 'mse'} on ${r.dataset.samples.test} test samples (${r.dataset.name}, ${r.model.name}):`];
  for (const [key, label] of ROWS) {
    const v = values?.[key];
    if (v === undefined) continue;
    lines.push(`  ${label.padEnd(30)} ${fmt(v).padStart(9)}${key === 'float' ? '' : `  (${delta(v, base)} vs float)`}`);
  }
  const ratio = r.size_bytes.float / Math.max(1, r.size_bytes.int8);
  const n = (v: number) => Math.round(v).toLocaleString('en-US');
  lines.push(`  weights: float ${n(r.size_bytes.float)} B, int8 ${n(r.size_bytes.int8)} B (${ratio.toFixed(1)}× smaller)`);
  if (r.size_bytes.onnx_int8 !== undefined && r.size_bytes.onnx_float !== undefined) {
    lines.push(`  files: model.int8.onnx ${n(r.size_bytes.onnx_int8)} B, model.float.onnx ${n(r.size_bytes.onnx_float)} B (${(r.size_bytes.onnx_float / r.size_bytes.onnx_int8).toFixed(1)}×)`);
  }
  if (r.latency_ms && r.throughput) {
    lines.push(
      `  ONNX Runtime (CPU, 1 thread): batch 1 ${r.latency_ms.onnx_int8.toFixed(3)} ms int8 vs ${r.latency_ms.onnx_float.toFixed(3)} ms float; batch 256 ${n(r.throughput.onnx_int8)} vs ${n(r.throughput.onnx_float)} samples/s (${(r.throughput.onnx_int8 / r.throughput.onnx_float).toFixed(2)}×)`,
    );
  }
  if (r.agreement.onnx_int8_vs_reference !== undefined && r.agreement.onnx_int8_vs_reference !== null) {
    lines.push(`  model.int8.onnx agrees with the integer reference on ${(r.agreement.onnx_int8_vs_reference * 100).toFixed(2)}% of test samples (max |logit diff| ${r.agreement.max_abs_logit_diff})`);
  }
  for (const x of r.exports_refused ?? []) lines.push(`  not exported as ${x.format}: ${x.layer}: ${x.reason}`);
  return lines.join('\n');
}
