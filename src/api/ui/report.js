// A finished job's report as page elements: the float / PTQ / QAT / ONNX comparison with deltas, the
// agreement figures and the per-layer table. The same rows as report.html (src/export/report/html.ts).
import { bytes, h, int, isNum, pct, sig } from './dom.js';

export const ROWS = [
  { key: 'float', label: 'Float', note: 'TF.js, float32' },
  { key: 'ptq_weights_only', label: 'PTQ weights-only', note: 'int8 weights, float activations (simulated)' },
  { key: 'ptq_int8', label: 'PTQ static int8', note: 'post-training quantization, integer reference' },
  { key: 'qat_simulated', label: 'QAT (fake-quant)', note: 'as trained, simulated' },
  { key: 'qat_int8', label: 'QAT int8', note: 'integer reference: the deployed number' },
  { key: 'onnx_float', label: 'model.float.onnx', note: 'ONNX Runtime, unquantized' },
  { key: 'onnx_int8', label: 'model.int8.onnx', note: 'ONNX Runtime: the deployable file' },
];

const DASH = { text: '–', cls: 'na' };
const signed = (s, v) => (v > 0 ? `+${s}` : v < 0 ? `−${String(s).replace(/^-/, '')}` : s);

export function comparisonRows(r) {
  const cls = r.task === 'classification';
  const values = (cls ? r.accuracy : r.mse) ?? {};
  const base = values.float;
  const s = r.size_bytes ?? {};
  const sizes = {
    float: { bytes: s.float, what: 'float32 weights' },
    ptq_int8: { bytes: s.int8, ref: s.float, what: 'int8 weights' },
    qat_int8: { bytes: s.int8, ref: s.float, what: 'int8 weights' },
    onnx_float: isNum(s.onnx_float) ? { bytes: s.onnx_float, what: 'file' } : undefined,
    onnx_int8: isNum(s.onnx_int8) ? { bytes: s.onnx_int8, ref: s.onnx_float, what: 'file' } : undefined,
  };
  const rows = [];
  for (const row of ROWS) {
    const v = values[row.key];
    if (!isNum(v) && row.key.startsWith('onnx_')) continue;
    const metric = isNum(v) ? { text: cls ? pct(v) : sig(v) } : DASH;
    let delta = DASH;
    if (row.key === 'float') delta = { text: 'baseline', cls: 'na' };
    else if (isNum(v) && isNum(base)) {
      const d = v - base;
      const better = cls ? d > 0 : d < 0;
      const worse = cls ? d < 0 : d > 0;
      delta = { text: cls ? `${signed((d * 100).toFixed(2), d)} pp` : signed(sig(d, 3), d), cls: better ? 'good' : worse ? 'bad' : '', title: cls ? 'percentage points vs float' : 'vs float (lower is better)' };
    }
    const sz = sizes[row.key];
    const size = sz && isNum(sz.bytes) ? { text: `${bytes(sz.bytes)}${isNum(sz.ref) ? ` (${(sz.ref / Math.max(sz.bytes, 1)).toFixed(1)}× smaller)` : ''}`, title: `${int(sz.bytes)} bytes, ${sz.what}` } : DASH;
    let latency = DASH;
    let throughput = DASH;
    if (row.key.startsWith('onnx_') && r.latency_ms && r.throughput) {
      const ms = r.latency_ms[row.key];
      const sps = r.throughput[row.key];
      const refMs = r.latency_ms.onnx_float;
      const refSps = r.throughput.onnx_float;
      const vs = row.key === 'onnx_int8';
      if (isNum(ms)) latency = { text: `${ms.toFixed(3)} ms${vs && isNum(refMs) && refMs > 0 ? ` (${(ms / refMs).toFixed(2)}× float)` : ''}`, cls: vs && isNum(refMs) ? (ms <= refMs ? 'good' : 'bad') : '' };
      if (isNum(sps)) throughput = { text: `${int(sps)}/s${vs && isNum(refSps) && refSps > 0 ? ` (${(sps / refSps).toFixed(2)}×)` : ''}`, cls: vs && isNum(refSps) ? (sps >= refSps ? 'good' : 'bad') : '' };
    }
    rows.push({ ...row, metric, delta, size, latency, throughput });
  }
  return rows;
}

const td = (c) => h('td', { class: ['num', c.cls].filter(Boolean).join(' '), title: c.title }, c.text);

export function comparisonTable(r) {
  const cls = r.task === 'classification';
  const values = (cls ? r.accuracy : r.mse) ?? {};
  const deployed = isNum(values.onnx_int8) ? 'onnx_int8' : 'qat_int8';
  const head = ['Variant', cls ? 'Accuracy' : 'MSE', 'Δ vs float', 'Size', 'Latency (batch 1)', 'Throughput (batch 256)'];
  const note = h('p', { class: 'table-note' }, `Test split: ${int(r.dataset?.samples?.test)} samples${cls ? '' : ' (MSE: lower is better)'}. Size: weights in memory, or the file for ONNX models. Latency and throughput: ONNX Runtime, CPU, one thread; the int8 file is compared with model.float.onnx.`);
  const table = h(
    'div',
    { class: 'scroll' },
    h(
      'table',
      { id: 'comparison', class: 'data' },
      h('thead', {}, h('tr', {}, head.map((t, i) => h('th', { scope: 'col', class: i ? 'num' : '' }, t)))),
      h(
        'tbody',
        {},
        comparisonRows(r).map((row) =>
          h(
            'tr',
            { 'data-variant': row.key, class: row.key === deployed ? 'deployed' : '' },
            h('th', { scope: 'row' }, row.label, h('span', { class: 'note' }, row.note)),
            td(row.metric),
            td(row.delta),
            td(row.size),
            td(row.latency),
            td(row.throughput),
          ),
        ),
      ),
    ),
  );
  return [table, note];
}

export function agreementList(r) {
  const a = r.agreement ?? {};
  const items = [];
  if (isNum(a.int8_reference_vs_qat)) items.push(['int8 reference vs QAT predictions', pct(a.int8_reference_vs_qat)]);
  if (isNum(a.onnx_int8_vs_reference)) items.push(['model.int8.onnx vs integer reference predictions', pct(a.onnx_int8_vs_reference)]);
  if (isNum(a.max_abs_logit_diff)) items.push(['max |ONNX int8 − integer reference| logit', sig(a.max_abs_logit_diff)]);
  if (items.length === 0) return null;
  return h('dl', { class: 'kv' }, items.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}

export function layersTable(layers) {
  const f = (v) => (isNum(v) ? v.toFixed(1) : 'exact');
  return h(
    'div',
    { class: 'scroll' },
    h(
      'table',
      { class: 'data', id: 'layers-table' },
      h('thead', {}, h('tr', {}, ['Layer', 'Op', 'Weight bits', 'Granularity', 'Weight SQNR (dB)', 'Output SQNR (dB)', 'Params'].map((t, i) => h('th', { scope: 'col', class: i > 1 && i !== 3 ? 'num' : '' }, t)))),
      h(
        'tbody',
        {},
        layers.map((l) =>
          h('tr', {}, h('th', { scope: 'row' }, l.name), h('td', {}, l.class), h('td', { class: 'num' }, l.weight_bits ?? 'float'), h('td', {}, l.granularity), h('td', { class: 'num' }, f(l.weight_sqnr_db)), h('td', { class: 'num' }, f(l.output_sqnr_db)), h('td', { class: 'num' }, int(l.params))),
        ),
      ),
    ),
  );
}

/** A data-parallel job in one line: its layout and, once it finished, where its rounds' time went. */
export function dataParallelText(dp) {
  const layout = `${dp.shards} shards, merged every ${dp.sync_every} steps`;
  const c = dp.costs;
  if (!c || !(c.round_seconds > 0)) return dp.transport === 'in-process' ? `${layout}, trained in turn` : layout;
  const share = (s) => `${Math.round((s / c.round_seconds) * 100)}%`;
  return `${layout} · ${int(c.rounds)} rounds: training ${share(c.train_seconds)}, sync ${share(c.sync_seconds)} (${bytes(c.state_bytes)} per state)`;
}
