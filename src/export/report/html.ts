// report.html: report.json as a page a person reads at a glance — the page an MLOps system attaches to a
// model registry entry. Pure: a report in, one self-contained HTML string out (inline CSS, charts as
// inline SVG, no script, no fonts, no images, nothing fetched). A Content-Security-Policy meta tag
// (`default-src 'none'`) makes "no network" hold even if a value slipped through escaping.
//
// Sections: headline, the float / PTQ / QAT / ONNX comparison with deltas, training curves (loss and
// accuracy per epoch, float then QAT), per-layer quantization error (SQNR) and bits, configuration,
// dataset and model fingerprints, artifacts with sha256, versions; the report itself is embedded as
// JSON (`<script type="application/json" id="report-json">`, inert) for machines.
import type { RunReport } from './schema.js';

type Variant = 'float' | 'ptq_weights_only' | 'ptq_int8' | 'qat_simulated' | 'qat_int8' | 'onnx_float' | 'onnx_int8';

export const COMPARISON_ROWS: { key: Variant; label: string; note: string }[] = [
  { key: 'float', label: 'Float', note: 'TF.js, float32' },
  { key: 'ptq_weights_only', label: 'PTQ weights-only', note: 'int8 weights, float activations (simulated)' },
  { key: 'ptq_int8', label: 'PTQ static int8', note: 'post-training quantization, integer reference' },
  { key: 'qat_simulated', label: 'QAT (fake-quant)', note: 'as trained, simulated' },
  { key: 'qat_int8', label: 'QAT int8', note: 'integer reference: the deployed number' },
  { key: 'onnx_float', label: 'model.float.onnx', note: 'ONNX Runtime, unquantized' },
  { key: 'onnx_int8', label: 'model.int8.onnx', note: 'ONNX Runtime: the deployable file' },
];

// Colours that stay apart for colour-blind readers (Okabe–Ito).
const COLORS = { float: '#0072B2', qat: '#D55E00', floatVal: '#56B4E9', qatVal: '#E69F00', weight: '#0072B2', output: '#E69F00', muted: '#6b7280' };

const esc = (v: unknown): string =>
  String(v).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const int = (n: number): string => Math.round(n).toLocaleString('en-US');
const pct = (v: number): string => `${(v * 100).toFixed(2)}%`;
const sig = (v: number, digits = 4): string => (v === 0 ? '0' : Math.abs(v) >= 1e4 || Math.abs(v) < 1e-3 ? v.toExponential(2) : Number(v.toPrecision(digits)).toString());
const signed = (s: string, v: number): string => (v > 0 ? `+${s}` : v < 0 ? `−${s.replace(/^-/, '')}` : s);

export function formatBytes(n: number): string {
  if (n < 1024) return `${int(n)} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(2)} MB`;
}

/** A cell's text and an optional class: `good`/`bad` colour a delta by whether it helps. */
interface Cell {
  text: string;
  cls?: string;
  title?: string;
}

interface ComparisonRow {
  key: Variant;
  label: string;
  note: string;
  metric: Cell;
  delta: Cell;
  size: Cell;
  latency: Cell;
  throughput: Cell;
}

const DASH: Cell = { text: '–', cls: 'na' };

/** The comparison table as data (one row per variant present), shared by the page and its tests. */
export function comparisonRows(r: RunReport): ComparisonRow[] {
  const classification = r.task === 'classification';
  const values = (classification ? r.accuracy : r.mse) as Partial<Record<Variant, number>> | undefined;
  const base = values?.float;
  const s = r.size_bytes;
  const sizeOf: Partial<Record<Variant, { bytes: number; ref?: number; what: string }>> = {
    float: { bytes: s.float, what: 'float32 weights' },
    ptq_int8: { bytes: s.int8, ref: s.float, what: 'int8 weights' },
    qat_int8: { bytes: s.int8, ref: s.float, what: 'int8 weights' },
    ...(isNum(s.onnx_float) ? { onnx_float: { bytes: s.onnx_float, what: 'file' } } : {}),
    ...(isNum(s.onnx_int8) ? { onnx_int8: { bytes: s.onnx_int8, ...(isNum(s.onnx_float) ? { ref: s.onnx_float } : {}), what: 'file' } } : {}),
  };
  const rows: ComparisonRow[] = [];
  for (const row of COMPARISON_ROWS) {
    const v = values?.[row.key];
    if (!isNum(v) && (row.key === 'onnx_float' || row.key === 'onnx_int8')) continue;
    const metric: Cell = isNum(v) ? { text: classification ? pct(v) : sig(v) } : DASH;
    let delta: Cell = DASH;
    if (row.key === 'float') delta = { text: 'baseline', cls: 'na' };
    else if (isNum(v) && isNum(base)) {
      const d = v - base;
      const better = classification ? d > 0 : d < 0;
      const worse = classification ? d < 0 : d > 0;
      delta = {
        text: classification ? `${signed((d * 100).toFixed(2), d)} pp` : signed(sig(d, 3), d),
        ...(better ? { cls: 'good' } : worse ? { cls: 'bad' } : {}),
        title: classification ? 'percentage points vs float' : 'vs float (lower is better)',
      };
    }
    const sz = sizeOf[row.key];
    const size: Cell = sz
      ? { text: `${formatBytes(sz.bytes)}${sz.ref ? ` (${(sz.ref / Math.max(sz.bytes, 1)).toFixed(1)}× smaller)` : ''}`, title: `${int(sz.bytes)} bytes, ${sz.what}` }
      : DASH;
    let latency: Cell = DASH;
    let throughput: Cell = DASH;
    if ((row.key === 'onnx_float' || row.key === 'onnx_int8') && r.latency_ms && r.throughput) {
      const ms = r.latency_ms[row.key];
      const sps = r.throughput[row.key];
      const refMs = r.latency_ms.onnx_float;
      const refSps = r.throughput.onnx_float;
      const vs = row.key === 'onnx_int8';
      latency = isNum(ms)
        ? { text: `${ms.toFixed(3)} ms${vs && isNum(refMs) && refMs > 0 ? ` (${(ms / refMs).toFixed(2)}× float)` : ''}`, ...(vs && isNum(refMs) ? { cls: ms <= refMs ? 'good' : 'bad' } : {}) }
        : DASH;
      throughput = isNum(sps)
        ? { text: `${int(sps)}/s${vs && isNum(refSps) && refSps > 0 ? ` (${(sps / refSps).toFixed(2)}×)` : ''}`, ...(vs && isNum(refSps) ? { cls: sps >= refSps ? 'good' : 'bad' } : {}) }
        : DASH;
    }
    rows.push({ ...row, metric, delta, size, latency, throughput });
  }
  return rows;
}

// ------------------------------------------------------------------------------------------- SVG charts

/** About `count` round tick values covering [min, max]. */
function ticks(min: number, max: number, count = 5): number[] {
  if (!(max > min)) {
    const pad = Math.abs(min) > 0 ? Math.abs(min) * 0.1 : 1;
    return ticks(min - pad, max + pad, count);
  }
  const raw = (max - min) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let t = Math.floor(min / step) * step; t <= max + step * 0.999; t += step) out.push(Number(t.toPrecision(12)));
  return out;
}

const fmtTick = (t: number): string => (Math.abs(t) >= 1e4 || (Math.abs(t) < 1e-3 && t !== 0) ? t.toExponential(1) : Number(t.toPrecision(6)).toString());

export interface LineSeries {
  name: string;
  color: string;
  dashed?: boolean;
  points: { x: number; y: number }[];
}

/** A line chart as inline SVG: axes, grid, one polyline with point markers (and a tooltip) per series, and a legend. */
export function svgLineChart(o: { id: string; title: string; xLabel: string; yLabel: string; series: LineSeries[]; markX?: { at: number; label: string }; yPercent?: boolean }): string {
  const W = 640;
  const H = 280;
  const m = { l: 60, r: 16, t: 14, b: 46 };
  const series = o.series.filter((s) => s.points.some((p) => isNum(p.x) && isNum(p.y)));
  const all = series.flatMap((s) => s.points.filter((p) => isNum(p.x) && isNum(p.y)));
  const desc = series.map((s) => `${s.name}: ${s.points.length} points, last ${sig(s.points[s.points.length - 1]!.y)}`).join('; ');
  const head = `<figure class="chart" id="${esc(o.id)}"><figcaption>${esc(o.title)}</figcaption>`;
  if (all.length === 0) return `${head}<p class="empty">No ${esc(o.title.toLowerCase())} recorded.</p></figure>`;
  const xs = all.map((p) => p.x);
  const ys = all.map((p) => p.y);
  const [xMin, xMax] = [Math.min(...xs, 1), Math.max(...xs)];
  const xt = ticks(xMin, xMax, Math.min(8, Math.max(2, xMax - xMin))).filter((t) => t >= xMin && t <= xMax);
  const yt = ticks(Math.min(...ys), Math.max(...ys));
  // Half an epoch of room at both ends, so the first and last points are not drawn on the frame.
  const pad = Math.max(0.5, (xMax - xMin) * 0.02);
  const [x0, x1, y0, y1] = [xMin - pad, xMax + pad, yt[0]!, yt[yt.length - 1]!];
  const px = (x: number) => m.l + ((x - x0) / (x1 - x0 || 1)) * (W - m.l - m.r);
  const py = (y: number) => H - m.b - ((y - y0) / (y1 - y0 || 1)) * (H - m.t - m.b);
  const fy = (y: number) => (o.yPercent ? `${Number((y * 100).toPrecision(6))}%` : fmtTick(y));
  const parts: string[] = [];
  parts.push(`<svg viewBox="0 0 ${W} ${H}" role="img" aria-labelledby="${esc(o.id)}-t ${esc(o.id)}-d" class="svg-chart" data-series="${series.length}" data-points="${all.length}">`);
  parts.push(`<title id="${esc(o.id)}-t">${esc(o.title)}</title><desc id="${esc(o.id)}-d">${esc(desc)}</desc>`);
  for (const t of yt) parts.push(`<line class="grid" x1="${m.l}" x2="${W - m.r}" y1="${py(t).toFixed(1)}" y2="${py(t).toFixed(1)}"/><text class="tick" x="${m.l - 6}" y="${(py(t) + 4).toFixed(1)}" text-anchor="end">${esc(fy(t))}</text>`);
  for (const t of xt) parts.push(`<text class="tick" x="${px(t).toFixed(1)}" y="${H - m.b + 16}" text-anchor="middle">${esc(fmtTick(t))}</text>`);
  parts.push(`<line class="axis" x1="${m.l}" x2="${W - m.r}" y1="${H - m.b}" y2="${H - m.b}"/><line class="axis" x1="${m.l}" x2="${m.l}" y1="${m.t}" y2="${H - m.b}"/>`);
  parts.push(`<text class="label" x="${(m.l + W - m.r) / 2}" y="${H - 8}" text-anchor="middle">${esc(o.xLabel)}</text>`);
  parts.push(`<text class="label" transform="translate(14 ${(m.t + H - m.b) / 2}) rotate(-90)" text-anchor="middle">${esc(o.yLabel)}</text>`);
  if (o.markX && o.markX.at > x0 && o.markX.at < x1) {
    const x = px(o.markX.at).toFixed(1);
    parts.push(`<line class="mark" x1="${x}" x2="${x}" y1="${m.t}" y2="${H - m.b}"/><text class="tick" x="${(Number(x) + 4).toFixed(1)}" y="${m.t + 10}">${esc(o.markX.label)}</text>`);
  }
  for (const s of series) {
    const pts = s.points.filter((p) => isNum(p.x) && isNum(p.y));
    const path = pts.map((p) => `${px(p.x).toFixed(1)},${py(p.y).toFixed(1)}`).join(' ');
    parts.push(`<g class="series" data-name="${esc(s.name)}" data-points="${pts.length}">`);
    if (pts.length > 1) parts.push(`<polyline points="${path}" fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
    for (const p of pts) parts.push(`<circle cx="${px(p.x).toFixed(1)}" cy="${py(p.y).toFixed(1)}" r="3" fill="${s.color}"><title>${esc(`${s.name}, epoch ${p.x}: ${fy(p.y)}`)}</title></circle>`);
    parts.push('</g>');
  }
  parts.push('</svg>');
  const legend = series.map((s) => `<li><span class="swatch${s.dashed ? ' dashed' : ''}" style="border-color:${s.color}"></span>${esc(s.name)}</li>`).join('');
  return `${head}${parts.join('')}<ul class="legend">${legend}</ul></figure>`;
}

/** Per-layer weight and output SQNR as horizontal grouped bars, with each layer's bits and granularity. */
export function svgLayerChart(id: string, layers: RunReport['layers']): string {
  const head = `<figure class="chart wide" id="${esc(id)}"><figcaption>Quantization error per layer (SQNR, dB; higher is better)</figcaption>`;
  if (layers.length === 0) return `${head}<p class="empty">No quantized layers.</p></figure>`;
  const W = 640;
  const row = 30;
  const m = { l: 130, r: 120, t: 8, b: 40 };
  const H = m.t + m.b + row * layers.length;
  const vals = layers.flatMap((l) => [l.weight_sqnr_db, l.output_sqnr_db]).filter(isNum);
  const xt = ticks(Math.min(0, ...vals), Math.max(10, ...vals));
  const [x0, x1] = [xt[0]!, xt[xt.length - 1]!];
  const px = (v: number) => m.l + ((v - x0) / (x1 - x0)) * (W - m.l - m.r);
  const parts: string[] = [];
  parts.push(`<svg viewBox="0 0 ${W} ${H}" role="img" aria-labelledby="${esc(id)}-t" class="svg-chart" data-layers="${layers.length}">`);
  parts.push(`<title id="${esc(id)}-t">Weight and output SQNR per layer, in dB, with bits</title>`);
  for (const t of xt) parts.push(`<line class="grid" x1="${px(t).toFixed(1)}" x2="${px(t).toFixed(1)}" y1="${m.t}" y2="${H - m.b}"/><text class="tick" x="${px(t).toFixed(1)}" y="${H - m.b + 16}" text-anchor="middle">${esc(fmtTick(t))}</text>`);
  parts.push(`<text class="label" x="${(m.l + W - m.r) / 2}" y="${H - 8}" text-anchor="middle">SQNR (dB)</text>`);
  layers.forEach((l, i) => {
    const y = m.t + i * row;
    const name = l.name.length > 18 ? `${l.name.slice(0, 17)}…` : l.name;
    parts.push(`<g class="layer" data-name="${esc(l.name)}"><text class="tick" x="${m.l - 6}" y="${y + 19}" text-anchor="end"><title>${esc(`${l.name} (${l.class})`)}</title>${esc(name)}</text>`);
    const bar = (v: number | null, dy: number, color: string, what: string) => {
      if (!isNum(v)) {
        return `<text class="tick exact" x="${px(0) + 4}" y="${y + dy + 8}">${l.granularity === 'float' ? 'float' : 'exact'}<title>${esc(`${l.name} ${what}: ${l.granularity === 'float' ? 'kept in float' : 'quantization is exact (infinite SQNR)'}`)}</title></text>`;
      }
      const a = px(Math.min(0, v));
      const w = Math.max(1, Math.abs(px(v) - px(0)));
      return `<rect x="${a.toFixed(1)}" y="${y + dy}" width="${w.toFixed(1)}" height="10" fill="${color}"><title>${esc(`${l.name} ${what}: ${v.toFixed(1)} dB`)}</title></rect>`;
    };
    parts.push(bar(l.weight_sqnr_db, 4, COLORS.weight, 'weight SQNR'), bar(l.output_sqnr_db, 16, COLORS.output, 'output SQNR'));
    const bits = l.weight_bits === null ? 'float' : `${l.weight_bits}-bit ${l.granularity}`;
    parts.push(`<text class="tick" x="${W - m.r + 8}" y="${y + 19}">${esc(bits)}</text></g>`);
  });
  parts.push(`<line class="axis" x1="${px(0).toFixed(1)}" x2="${px(0).toFixed(1)}" y1="${m.t}" y2="${H - m.b}"/>`);
  parts.push('</svg>');
  const legend = `<ul class="legend"><li><span class="swatch" style="border-color:${COLORS.weight}"></span>weight SQNR</li><li><span class="swatch" style="border-color:${COLORS.output}"></span>output SQNR</li><li>right: weight bits and granularity</li></ul>`;
  return `${head}${parts.join('')}${legend}</figure>`;
}

/** Loss and accuracy per epoch: float epochs first, then QAT's continuing the x axis. */
export function trainingSeries(r: RunReport): { loss: LineSeries[]; accuracy: LineSeries[]; qatStarts: number | null } {
  const float = r.train.float?.history ?? [];
  const qat = r.train.qat?.history ?? [];
  const offset = float.length ? Math.max(...float.map((e) => e.epoch)) : 0;
  const pick = (h: typeof float, add: number, k: 'loss' | 'accuracy' | 'val_loss' | 'val_accuracy') =>
    h.filter((e) => isNum(e[k])).map((e) => ({ x: e.epoch + add, y: e[k] as number }));
  const mk = (name: string, color: string, points: { x: number; y: number }[], dashed = false): LineSeries => ({ name, color, points, ...(dashed ? { dashed } : {}) });
  return {
    loss: [
      mk('float loss', COLORS.float, pick(float, 0, 'loss')),
      mk('float validation loss', COLORS.floatVal, pick(float, 0, 'val_loss'), true),
      mk('QAT loss', COLORS.qat, pick(qat, offset, 'loss')),
      mk('QAT validation loss', COLORS.qatVal, pick(qat, offset, 'val_loss'), true),
    ],
    accuracy: [
      mk('float accuracy', COLORS.float, pick(float, 0, 'accuracy')),
      mk('float validation accuracy', COLORS.floatVal, pick(float, 0, 'val_accuracy'), true),
      mk('QAT accuracy', COLORS.qat, pick(qat, offset, 'accuracy')),
      mk('QAT validation accuracy', COLORS.qatVal, pick(qat, offset, 'val_accuracy'), true),
    ],
    qatStarts: float.length && qat.length ? offset + 0.5 : null,
  };
}

// ------------------------------------------------------------------------------------------- page

const CSS = `
:root{--fg:#111827;--muted:#4b5563;--line:#d1d5db;--bg:#fff;--panel:#f9fafb;--good:#047857;--bad:#b91c1c;--accent:#0b5cad}
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--fg);background:var(--bg)}
header,main,footer{max-width:1100px;margin:0 auto;padding:0 20px}
header{padding-top:24px;border-bottom:1px solid var(--line)}
h1{font-size:1.6rem;margin:0 0 4px}h2{font-size:1.2rem;margin:32px 0 8px}
.sub{color:var(--muted);margin:0 0 16px}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(190px,1fr));gap:12px;margin:20px 0}
.card{background:var(--panel);border:1px solid var(--line);border-radius:8px;padding:12px 14px}
.card .k{color:var(--muted);font-size:.85rem}.card .v{font-size:1.35rem;font-weight:600}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
th,td{text-align:left;padding:6px 10px;border-bottom:1px solid var(--line);vertical-align:top}
th{font-weight:600}thead th{background:var(--panel)}
td.num,th.num{text-align:right;white-space:nowrap}
tr.deployed td,tr.deployed th{font-weight:600;background:#eef6ff}
.note{color:var(--muted);font-size:.85rem;display:block;font-weight:400}
.good{color:var(--good)}.bad{color:var(--bad)}.na{color:var(--muted)}
code,.hash{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.85rem;word-break:break-all}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(320px,1fr));gap:16px}
figure.chart.wide{max-width:760px}
#config-table{max-width:640px}
figure.chart{margin:0;border:1px solid var(--line);border-radius:8px;padding:10px;background:var(--bg)}
figcaption{font-weight:600;margin-bottom:4px}
.svg-chart{width:100%;height:auto;display:block}
.charts+.scroll{margin-top:12px}
.svg-chart .grid{stroke:#e5e7eb}.svg-chart .axis{stroke:#6b7280}.svg-chart .mark{stroke:#9ca3af;stroke-dasharray:4 4}
.svg-chart .tick{font-size:11px;fill:#374151}.svg-chart .label{font-size:12px;fill:#111827}
.legend{list-style:none;padding:0;margin:6px 0 0;display:flex;flex-wrap:wrap;gap:4px 16px;font-size:.85rem;color:var(--muted)}
.swatch{display:inline-block;width:18px;border-top:3px solid;margin-right:6px;vertical-align:middle}.swatch.dashed{border-top-style:dashed}
.empty{color:var(--muted)}
.visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
dl.kv{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px;margin:0}dl.kv dt{color:var(--muted)}dl.kv dd{margin:0}
details{margin-top:8px}summary{cursor:pointer;color:var(--accent)}
footer{color:var(--muted);font-size:.85rem;padding:24px 20px 40px}
@media (max-width:600px){body{font-size:14px}th,td{padding:5px 6px}h1{font-size:1.3rem}}
@media print{.scroll{overflow:visible}figure.chart{break-inside:avoid}}
`;

const cell = (c: Cell, num = true) => `<td class="${[num ? 'num' : '', c.cls ?? ''].filter(Boolean).join(' ')}"${c.title ? ` title="${esc(c.title)}"` : ''}>${esc(c.text)}</td>`;

function kvTable(rows: [string, string][]): string {
  return `<dl class="kv">${rows.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${v}</dd>`).join('')}</dl>`;
}

/** One line on a data-parallel run: its layout and where its rounds' time went. */
function dataParallelNote(dp: RunReport['train']['data_parallel']): string {
  if (!dp) return '';
  const layout = `Data-parallel: ${dp.shards} shards merged every ${dp.sync_every} steps`;
  const c = dp.costs;
  if (!c) return `<p class="note" id="data-parallel">${esc(layout)}, trained in turn in one process.</p>`;
  const share = (s: number) => (c.round_seconds > 0 ? ` (${((s / c.round_seconds) * 100).toFixed(0)}%)` : '');
  const parts = [
    `${int(c.rounds)} rounds over the queue took ${c.round_seconds.toFixed(1)} s`,
    `training ${c.train_seconds.toFixed(1)} s${share(c.train_seconds)}, of which ${c.wait_seconds.toFixed(1)} s waiting for the slowest shard`,
    `synchronising ${c.sync_seconds.toFixed(1)} s${share(c.sync_seconds)} (merging ${c.merge_seconds.toFixed(1)} s, ${formatBytes(c.state_bytes)} per state file)`,
  ];
  return `<p class="note" id="data-parallel">${esc(`${layout}: ${parts.join('; ')}.`)}</p>`;
}

const showValue = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v));

/** The whole page. Everything comes from the report; the same report always gives the same bytes. */
export function renderReportHtml(r: RunReport): string {
  const classification = r.task === 'classification';
  const metricName = classification ? 'Accuracy' : 'MSE';
  const values = (classification ? r.accuracy : r.mse) as Partial<Record<Variant, number>> | undefined;
  const deployedKey: Variant = isNum(values?.onnx_int8) ? 'onnx_int8' : 'qat_int8';
  const fmtMetric = (v: number | undefined) => (isNum(v) ? (classification ? pct(v) : sig(v)) : '–');
  const title = `QAT report: ${r.model.name} on ${r.dataset.name}`;

  const cards: [string, string][] = [
    [`${metricName}, float`, fmtMetric(values?.float)],
    [`${metricName}, deployed int8 (${deployedKey === 'onnx_int8' ? 'ONNX Runtime' : 'integer reference'})`, fmtMetric(values?.[deployedKey])],
    ['Weights, int8 vs float', `${formatBytes(r.size_bytes.int8)} (${(r.size_bytes.float / Math.max(1, r.size_bytes.int8)).toFixed(1)}× smaller)`],
  ];
  if (isNum(r.agreement.onnx_int8_vs_reference ?? undefined)) cards.push(['ONNX int8 agrees with the integer reference', pct(r.agreement.onnx_int8_vs_reference as number)]);
  if (r.throughput && isNum(r.throughput.onnx_int8) && isNum(r.throughput.onnx_float) && r.throughput.onnx_float > 0) {
    cards.push(['Throughput, int8 ÷ float (batch 256)', `${(r.throughput.onnx_int8 / r.throughput.onnx_float).toFixed(2)}×`]);
  }

  const rows = comparisonRows(r);
  const comparison = `<div class="scroll"><table id="comparison">
<thead><tr><th scope="col">Variant</th><th scope="col" class="num">${metricName}</th><th scope="col" class="num">Δ vs float</th><th scope="col" class="num">Size</th><th scope="col" class="num">Latency (batch 1)</th><th scope="col" class="num">Throughput (batch 256)</th></tr></thead>
<tbody>${rows
    .map(
      (row) =>
        `<tr data-variant="${row.key}"${row.key === deployedKey ? ' class="deployed"' : ''}><th scope="row">${esc(row.label)}<span class="note">${esc(row.note)}</span></th>${cell(row.metric)}${cell(row.delta)}${cell(row.size)}${cell(row.latency)}${cell(row.throughput)}</tr>`,
    )
    .join('\n')}</tbody></table></div><p class="note">Test split: ${int(r.dataset.samples.test)} samples${
    classification ? '' : ' (MSE: lower is better)'
  }. Size: weights in memory, or the file for ONNX models. Latency and throughput: ONNX Runtime, CPU, one thread; the int8 row compares with model.float.onnx.</p>`;

  const agreement: [string, string][] = [];
  const a = r.agreement;
  if (isNum(a.int8_reference_vs_qat ?? undefined)) agreement.push(['int8 reference vs QAT predictions', pct(a.int8_reference_vs_qat as number)]);
  if (isNum(a.max_abs_output_diff ?? undefined)) agreement.push(['max |int8 reference − QAT| output', sig(a.max_abs_output_diff as number)]);
  if (isNum(a.onnx_int8_vs_reference ?? undefined)) agreement.push(['model.int8.onnx vs integer reference predictions', pct(a.onnx_int8_vs_reference as number)]);
  if (isNum(a.max_abs_logit_diff ?? undefined)) agreement.push(['max |ONNX int8 − integer reference| logit', sig(a.max_abs_logit_diff as number)]);

  const ts = trainingSeries(r);
  const curves = `<div class="charts">${svgLineChart({
    id: 'loss-chart',
    title: 'Loss per epoch',
    xLabel: 'epoch (float, then QAT)',
    yLabel: 'loss',
    series: ts.loss,
    ...(ts.qatStarts !== null ? { markX: { at: ts.qatStarts, label: 'QAT' } } : {}),
  })}${
    classification
      ? svgLineChart({
          id: 'accuracy-chart',
          title: 'Training accuracy per epoch',
          xLabel: 'epoch (float, then QAT)',
          yLabel: 'accuracy',
          series: ts.accuracy,
          yPercent: true,
          ...(ts.qatStarts !== null ? { markX: { at: ts.qatStarts, label: 'QAT' } } : {}),
        })
      : ''
  }</div>`;
  const phase = (name: string, p: RunReport['train']['float']) =>
    p
      ? `<tr><th scope="row">${esc(name)}</th><td class="num">${int(p.epochs_run)}</td><td class="num">${p.best_epoch ?? '–'}</td><td>${p.stopped_early ? 'yes' : 'no'}</td><td class="num">${isNum(p.samples_per_s ?? undefined) ? int(p.samples_per_s as number) : '–'}</td></tr>`
      : '';
  const training = `<div class="scroll"><table id="training-table"><thead><tr><th scope="col">Phase</th><th scope="col" class="num">Epochs run</th><th scope="col" class="num">Best epoch</th><th scope="col">Stopped early</th><th scope="col" class="num">Samples/s</th></tr></thead><tbody>${phase('Float training', r.train.float)}${phase('QAT', r.train.qat)}</tbody></table></div><p class="note">Backend ${esc(r.backend)}; the whole run took ${esc(r.train.seconds)} s; calibration: ${esc(r.calibration.observer)} on ${int(r.calibration.samples)} samples.</p>${dataParallelNote(r.train.data_parallel)}`;

  const layerTable = `<details><summary>Per-layer table</summary><div class="scroll"><table id="layers-table"><thead><tr><th scope="col">Layer</th><th scope="col">Op</th><th scope="col" class="num">Weight bits</th><th scope="col">Granularity</th><th scope="col" class="num">Weight SQNR (dB)</th><th scope="col" class="num">Output SQNR (dB)</th><th scope="col" class="num">Params</th><th scope="col" class="num">MACs</th></tr></thead><tbody>${r.layers
    .map(
      (l) =>
        `<tr><th scope="row">${esc(l.name)}</th><td>${esc(l.class)}</td><td class="num">${l.weight_bits ?? 'float'}</td><td>${esc(l.granularity)}</td><td class="num">${isNum(l.weight_sqnr_db ?? undefined) ? (l.weight_sqnr_db as number).toFixed(1) : 'exact'}</td><td class="num">${isNum(l.output_sqnr_db ?? undefined) ? (l.output_sqnr_db as number).toFixed(1) : 'exact'}</td><td class="num">${int(l.params)}</td><td class="num">${int(l.macs)}</td></tr>`,
    )
    .join('')}</tbody></table></div></details>`;

  const refused = r.exports_refused?.length
    ? `<h3>Exports refused</h3><ul>${r.exports_refused.map((x) => `<li><strong>${esc(x.format)}</strong>: layer ${esc(x.layer)}: ${esc(x.reason)}</li>`).join('')}</ul>`
    : '';

  const d = r.dataset;
  const dataset = kvTable([
    ['Name', esc(d.name)],
    ['Format', esc(d.format)],
    ['sha256', `<span class="hash">${esc(d.sha256)}</span>`],
    ['Samples', esc(`train ${int(d.samples.train)}, validation ${int(d.samples.validation)}, test ${int(d.samples.test)} (${d.test_source === 'given' ? 'given test set' : 'split off'})`)],
    ['Sample shape', esc(`[${d.sample_shape.join(', ')}] (${int(d.features)} values)`)],
    ['Classes', esc(classification ? `${d.classes}${d.class_names ? `: ${d.class_names.join(', ')}` : ''}` : 'regression')],
    ...(d.licence ? ([['Licence', esc(d.licence)]] as [string, string][]) : []),
  ]);
  const model = kvTable([
    ['Name', esc(r.model.name)],
    ['Source', esc(r.model.source)],
    ['Parameters', int(r.model.params)],
    ['MACs per sample', int(r.model.macs_per_sample)],
    ['Input → output', esc(`[${r.model.input_shape.join(', ')}] → [${r.model.output_shape.join(', ')}]`)],
  ]);
  const pre = r.preprocessing;
  const preprocessing = kvTable([
    ['Scale', esc(pre.scale ?? 'none')],
    ['Standardised', pre.standardize ? `yes (${pre.standardize.mean.length} features, training-split statistics)` : 'no'],
    ...(pre.output ? ([['Output', esc(pre.output)]] as [string, string][]) : []),
  ]);
  const config = `<div class="scroll"><table id="config-table"><thead><tr><th scope="col">Option</th><th scope="col">Value</th></tr></thead><tbody>${Object.entries(r.config)
    .map(([k, v]) => `<tr><th scope="row"><code>${esc(k)}</code></th><td>${esc(showValue(v))}</td></tr>`)
    .join('')}</tbody></table></div>`;
  const artifacts = `<div class="scroll"><table id="artifacts-table"><thead><tr><th scope="col">File</th><th scope="col">Kind</th><th scope="col" class="num">Size</th><th scope="col">sha256</th></tr></thead><tbody>${r.artifacts
    .map((x) => `<tr><th scope="row"><code>${esc(x.name)}</code></th><td>${esc(x.kind)}</td><td class="num" title="${int(x.size_bytes)} bytes">${formatBytes(x.size_bytes)}</td><td class="hash">${esc(x.sha256)}</td></tr>`)
    .join('')}</tbody></table></div><p class="note">report.json and this page are written after these files and are not listed.</p>`;
  const versions = kvTable(Object.entries(r.versions).map(([k, v]) => [esc(k), esc(v)] as [string, string]));
  // Inert data block: `<` is escaped so nothing in the report can close the element.
  const json = JSON.stringify(r).replace(/</g, '\\u003c');

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="generator" content="qat-service ${esc(r.versions['qat-service'] ?? '')}">
<title>${esc(title)}</title>
<style>${CSS}</style>
</head>
<body>
<header>
<h1>${esc(title)}</h1>
<p class="sub">${esc(r.task)} · ${int(r.dataset.samples.test)} test samples · ${esc(r.config.weight_bits ?? 8)}-bit weights, ${esc(r.config.activation_bits ?? 8)}-bit activations · created ${esc(r.created_at)}</p>
</header>
<main>
<section aria-labelledby="s-summary"><h2 id="s-summary" class="visually-hidden">Summary</h2><div class="cards">${cards.map(([k, v]) => `<div class="card"><div class="k">${esc(k)}</div><div class="v">${esc(v)}</div></div>`).join('')}</div></section>
<section aria-labelledby="s-comparison"><h2 id="s-comparison">Float vs PTQ vs QAT vs ONNX int8</h2>${comparison}${agreement.length ? `<h3>Agreement</h3>${kvTable(agreement.map(([k, v]) => [esc(k), esc(v)]))}` : ''}${refused}</section>
<section aria-labelledby="s-training"><h2 id="s-training">Training</h2>${curves}${training}</section>
<section aria-labelledby="s-layers"><h2 id="s-layers">Per-layer quantization error</h2>${svgLayerChart('layers-chart', r.layers)}${layerTable}</section>
<section aria-labelledby="s-config"><h2 id="s-config">Configuration</h2>${config}</section>
<section aria-labelledby="s-provenance"><h2 id="s-provenance">Dataset and model</h2><div class="charts"><div><h3>Dataset</h3>${dataset}</div><div><h3>Model</h3>${model}<h3>Preprocessing</h3>${preprocessing}</div></div></section>
<section aria-labelledby="s-artifacts"><h2 id="s-artifacts">Artifacts</h2>${artifacts}</section>
<section aria-labelledby="s-versions"><h2 id="s-versions">Versions</h2>${versions}</section>
</main>
<footer>report_version ${esc(r.report_version)} · generated by qat-service from report.json (embedded below as JSON).</footer>
<script type="application/json" id="report-json">${json}</script>
</body>
</html>
`;
}
