// Small DOM and formatting helpers. Elements are built with h() and text nodes, never from HTML strings,
// so nothing the API returns (names, messages) can inject markup.

/** h('a', {href: '#/x', class: 'c', onclick: fn}, 'text', child, …); `null`/`false` children are skipped. */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k in el && typeof v !== 'string') el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

let toastTimer;
/** A short message in the polite live region (screen readers announce it). */
export function toast(message, kind = 'info') {
  const el = document.getElementById('toast');
  el.textContent = message;
  el.dataset.kind = kind;
  el.classList.add('show');
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => el.classList.remove('show'), 5000);
}

// ----------------------------------------------------------------------------------------- formats

export const TERMINAL = ['SUCCEEDED', 'FAILED', 'CANCELLED'];
export const isTerminal = (s) => TERMINAL.includes(s);
export const isNum = (v) => typeof v === 'number' && Number.isFinite(v);

export const pct = (v, digits = 2) => (isNum(v) ? `${(v * 100).toFixed(digits)}%` : '–');
export const int = (v) => (isNum(v) ? Math.round(v).toLocaleString('en-US') : '–');
export const sig = (v, d = 4) => (!isNum(v) ? '–' : v === 0 ? '0' : Math.abs(v) >= 1e4 || Math.abs(v) < 1e-3 ? v.toExponential(2) : String(Number(v.toPrecision(d))));

export function bytes(n) {
  if (!isNum(n)) return '–';
  if (n < 1024) return `${int(n)} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(2)} MB`;
}

const dtf = new Intl.DateTimeFormat(undefined, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' });
const tf = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });

/** A <time> element: local date and time, ISO in `datetime` and the tooltip. */
export function time(iso, { short = false } = {}) {
  if (!iso) return h('span', { class: 'muted' }, '–');
  const d = new Date(iso);
  const sameDay = new Date().toDateString() === d.toDateString();
  return h('time', { datetime: iso, title: iso }, short && sameDay ? tf.format(d) : dtf.format(d));
}

export function duration(fromIso, toIso) {
  if (!fromIso) return '–';
  const s = Math.max(0, ((toIso ? new Date(toIso) : new Date()) - new Date(fromIso)) / 1000);
  if (s < 60) return `${s.toFixed(1)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
}

export const shortId = (id) => (id ? id.slice(0, 8) : '');

export function statusBadge(status) {
  return h('span', { class: `badge s-${String(status).toLowerCase()}`, 'data-status': status }, status);
}

export const PHASES = ['VALIDATING', 'TRAINING_FLOAT', 'CALIBRATING', 'TRAINING_QAT', 'QUANTIZING', 'EVALUATING', 'EXPORTING'];
export const PHASE_LABELS = {
  VALIDATING: 'Validating',
  TRAINING_FLOAT: 'Float training',
  CALIBRATING: 'Calibrating',
  TRAINING_QAT: 'QAT training',
  QUANTIZING: 'Quantizing',
  EVALUATING: 'Evaluating',
  EXPORTING: 'Exporting',
};
// Rough share of a run each phase takes, for one progress bar over the whole job.
const WEIGHTS = { VALIDATING: 2, TRAINING_FLOAT: 45, CALIBRATING: 3, TRAINING_QAT: 35, QUANTIZING: 5, EVALUATING: 5, EXPORTING: 5 };

/** 0–1 over the whole job, from its status, phase and progress; null when unknown. */
export function overallProgress(job) {
  if (job.status === 'SUCCEEDED') return 1;
  if (job.status === 'QUEUED') return 0;
  if (job.status === 'PREPARING') return 0.01;
  const p = job.progress ?? {};
  const phase = p.phase ?? job.phase;
  const i = PHASES.indexOf(phase);
  if (i < 0) return isTerminal(job.status) ? null : 0.02;
  const total = PHASES.reduce((a, k) => a + WEIGHTS[k], 0);
  const done = PHASES.slice(0, i).reduce((a, k) => a + WEIGHTS[k], 0);
  let within = 0;
  if (isNum(p.epoch) && isNum(p.epochs) && p.epochs > 0 && p.phase === phase) within = Math.min(1, Math.max(0, (p.epoch - 1) / p.epochs));
  return Math.min(0.99, (done + within * WEIGHTS[phase]) / total);
}

/** The progress line of a running job: "QAT training · epoch 2/3 · step 120 · loss 0.21 · accuracy 93.1%". */
export function progressText(job) {
  const p = job.progress ?? {};
  const phase = p.phase ?? job.phase;
  const bits = [];
  if (phase) bits.push(PHASE_LABELS[phase] ?? phase);
  if (isNum(p.epoch)) bits.push(`epoch ${p.epoch}${isNum(p.epochs) && p.epochs > 0 ? `/${p.epochs}` : ''}`);
  if (isNum(p.step)) bits.push(`step ${int(p.step)}`);
  if (isNum(p.loss)) bits.push(`loss ${sig(p.loss, 3)}`);
  if (isNum(p.accuracy)) bits.push(`accuracy ${pct(p.accuracy, 1)}`);
  return bits.join(' · ');
}

/** Headline numbers of a finished job's report: the metric of float and of the deployed int8 model. */
export function headline(report) {
  if (!report) return null;
  const cls = report.task === 'classification';
  const v = (cls ? report.accuracy : report.mse) ?? {};
  const deployed = isNum(v.onnx_int8) ? v.onnx_int8 : v.qat_int8;
  return { cls, float: v.float, ptq: v.ptq_int8, qat: v.qat_int8, deployed, fmt: cls ? (x) => pct(x) : (x) => sig(x) };
}
