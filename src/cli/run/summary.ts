// The comparison table `qat run` prints at the end: one line per variant, the headline metric and its
// change against float, then the deployed sizes.
import type { RunReport } from '../../export/report/index.js';

const ROWS: [key: string, label: string][] = [
  ['float', 'float'],
  ['ptq_weights_only', 'PTQ weights-only (simulated)'],
  ['ptq_int8', 'PTQ static int8'],
  ['qat_simulated', 'QAT (fake-quant)'],
  ['int8_reference', 'QAT int8 (integer reference)'],
  ['onnx_int8', 'QAT int8 in ONNX Runtime'],
  ['onnx_float', 'float in ONNX Runtime'],
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
  lines.push(`  size: float ${r.size_bytes.float.toLocaleString('en-US')} B, int8 ${r.size_bytes.int8.toLocaleString('en-US')} B (${ratio.toFixed(1)}× smaller)`);
  return lines.join('\n');
}
