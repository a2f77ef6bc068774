// One job: status and live progress, the phase timeline and transitions, live loss/accuracy curves (per
// epoch, float then QAT, per shard when sharded), the comparison table and per-layer chart of its
// report, its artifacts (downloaded with the bearer key), its config, and cancel / retry.
//
// Everything live comes from the job's Server-Sent Events stream: it replays the job's events from the
// start (which builds the timeline), then follows new ones until the job ends.
import { api, ApiError, download, errorText, followEvents } from './api.js';
import { chartBox, COLORS, layerChart, lineChart } from './charts.js';
import { bytes, duration, h, isNum, isTerminal, overallProgress, PHASE_LABELS, PHASES, progressText, replace, shortId, statusBadge, time, toast } from './dom.js';
import { agreementList, comparisonTable, dataParallelText, layersTable } from './report.js';
import { lookup } from './store.js';

const METRICS = {
  'float.loss': { chart: 'loss', label: 'float loss', color: COLORS.float },
  'float.val_loss': { chart: 'loss', label: 'float validation loss', color: COLORS.floatVal, dashed: true },
  'qat.loss': { chart: 'loss', label: 'QAT loss', color: COLORS.qat },
  'qat.val_loss': { chart: 'loss', label: 'QAT validation loss', color: COLORS.qatVal, dashed: true },
  'float.accuracy': { chart: 'second', label: 'float accuracy', color: COLORS.float },
  'float.val_accuracy': { chart: 'second', label: 'float validation accuracy', color: COLORS.floatVal, dashed: true },
  'qat.accuracy': { chart: 'second', label: 'QAT accuracy', color: COLORS.qat },
  'qat.val_accuracy': { chart: 'second', label: 'QAT validation accuracy', color: COLORS.qatVal, dashed: true },
  'float.mae': { chart: 'second', label: 'float MAE', color: COLORS.float },
  'float.val_mae': { chart: 'second', label: 'float validation MAE', color: COLORS.floatVal, dashed: true },
  'qat.mae': { chart: 'second', label: 'QAT MAE', color: COLORS.qat },
  'qat.val_mae': { chart: 'second', label: 'QAT validation MAE', color: COLORS.qatVal, dashed: true },
};

const STEPS = [
  { key: 'QUEUED', label: 'Queued' },
  { key: 'PREPARING', label: 'Preparing (inputs read and checked)' },
  ...PHASES.map((p) => ({ key: p, label: PHASE_LABELS[p] })),
  { key: 'END', label: 'Finished' },
];

export async function jobView(main, id, routeSignal) {
  const view = new AbortController();
  routeSignal.addEventListener('abort', () => view.abort(), { once: true });
  const signal = view.signal;

  let job;
  try {
    job = await api(`/v1/jobs/${id}`, { signal });
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) {
      replace(
        main,
        h('p', {}, h('a', { href: '#/jobs' }, '← Jobs')),
        h('h1', {}, 'Job not found'),
        h('p', { class: 'alert error', role: 'alert', id: 'job-error' }, `No job ${id} for this API key: it does not exist, was deleted, or belongs to another tenant (${err.code}).`),
      );
      return;
    }
    throw err;
  }

  // ------------------------------------------------------------------ skeleton
  const badge = h('span', { id: 'job-status' });
  const cancelBtn = h('button', { type: 'button', id: 'cancel-job', class: 'danger' }, 'Cancel job');
  const retryBtn = h('button', { type: 'button', id: 'retry-job', class: 'secondary' }, 'Retry');
  const actionMsg = h('p', { class: 'muted', role: 'status', id: 'action-status' });
  const summary = h('dl', { class: 'kv summary', id: 'job-summary' });
  const errorBox = h('div', { id: 'job-error', role: 'alert' });
  const progress = h('progress', { id: 'job-progress', max: 100, value: 0, 'aria-labelledby': 'job-progress-text' });
  const progressLine = h('p', { id: 'job-progress-text', class: 'progress-text' });
  const progressBox = h('div', { class: 'progress-box' }, progress, progressLine);
  const timeline = h('ol', { class: 'timeline', id: 'timeline' });
  const transitionsBody = h('tbody');
  const loss = chartBox('loss-chart', 'Loss per epoch: float training, then QAT');
  const second = chartBox('accuracy-chart', 'Training accuracy per epoch: float training, then QAT');
  const secondTitle = h('h3', { id: 'second-chart-title' }, 'Accuracy');
  const lossTitle = h('h3', {}, 'Loss');
  const curvesNote = h('p', { class: 'muted', id: 'curves-note' });
  const results = h('section', { id: 'results', 'aria-labelledby': 'results-title', hidden: true });
  const artifactsBody = h('tbody');
  const artifactsNote = h('p', { class: 'muted' });
  const configBody = h('tbody');

  replace(
    main,
    h('p', { class: 'crumbs' }, h('a', { href: '#/jobs' }, '← Jobs')),
    h(
      'div',
      { class: 'title-row' },
      h('h1', {}, 'Job ', h('span', { class: 'mono', title: id }, shortId(id)), ' ', badge),
      h('div', { class: 'actions' }, cancelBtn, retryBtn),
    ),
    h('p', { class: 'muted mono job-id' }, id),
    actionMsg,
    errorBox,
    progressBox,
    summary,
    h(
      'div',
      { class: 'grid-2' },
      h(
        'section',
        { class: 'panel', 'aria-labelledby': 'timeline-title' },
        h('h2', { id: 'timeline-title' }, 'Timeline'),
        timeline,
        h('details', {}, h('summary', {}, 'Transitions'), h('div', { class: 'scroll' }, h('table', { class: 'data', id: 'transitions-table' }, h('thead', {}, h('tr', {}, ['From', 'To', 'Phase', 'Message', 'At'].map((t) => h('th', { scope: 'col' }, t)))), transitionsBody))),
      ),
      h('section', { class: 'panel', 'aria-labelledby': 'curves-title' }, h('h2', { id: 'curves-title' }, 'Training curves'), lossTitle, loss.box, secondTitle, second.box, curvesNote),
    ),
    results,
    h(
      'section',
      { class: 'panel', 'aria-labelledby': 'artifacts-title' },
      h('h2', { id: 'artifacts-title' }, 'Artifacts'),
      h('div', { class: 'scroll' }, h('table', { class: 'data', id: 'artifacts-table' }, h('thead', {}, h('tr', {}, ['File', 'Kind', 'Size', 'sha256', ''].map((t, i) => h('th', { scope: 'col', class: i === 2 ? 'num' : '' }, t || h('span', { class: 'visually-hidden' }, 'Download'))))), artifactsBody)),
      artifactsNote,
    ),
    h('section', { class: 'panel', 'aria-labelledby': 'config-title' }, h('details', {}, h('summary', { id: 'config-title' }, 'Configuration'), h('div', { class: 'scroll' }, h('table', { class: 'data', id: 'config-table' }, h('tbody', {}, configBody))))),
  );

  // ------------------------------------------------------------------ state and rendering
  const events = []; // {type, data} in stream order, for the timeline
  const lossChart = lineChart(loss.canvas, { yLabel: 'loss' });
  let secondChart = lineChart(second.canvas, { yLabel: 'accuracy', percent: true });
  let secondKind = 'accuracy';
  let layers = null;
  signal.addEventListener('abort', () => {
    lossChart.destroy();
    secondChart.destroy();
    layers?.destroy();
  });

  const modelName = h('span', {}, shortId(job.model_id));
  const datasetName = h('span', {}, shortId(job.dataset_id));
  void lookup('models', job.model_id).then((m) => m && replace(modelName, m.name));
  void lookup('datasets', job.dataset_id).then((d) => d && replace(datasetName, d.name));

  function renderHeader() {
    replace(badge, statusBadge(job.status));
    cancelBtn.disabled = isTerminal(job.status) || job.status === 'CANCELLING';
    retryBtn.disabled = !(job.status === 'FAILED' || job.status === 'CANCELLED');
    const rows = [
      ['Model', modelName],
      ['Dataset', datasetName],
      ['Attempt', String(job.attempt)],
      ['Created', time(job.created_at)],
      ['Started', time(job.started_at)],
      ['Finished', time(job.finished_at)],
      ['Duration', job.started_at ? duration(job.started_at, job.finished_at) : '–'],
    ];
    if (job.report?.backend) rows.push(['Backend', job.report.backend]);
    const dp = job.report?.train?.data_parallel ?? (job.config?.shards > 1 ? { shards: job.config.shards, sync_every: job.config.sync_every } : null);
    if (dp) rows.push(['Data-parallel', dataParallelText(dp)]);
    replace(summary, rows.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
    if (job.error) {
      replace(errorBox, h('p', { class: 'alert error' }, h('strong', {}, `${job.status === 'FAILED' ? 'Failed' : 'Error'}: `), h('code', { id: 'job-error-code' }, job.error.code), ' — ', job.error.message));
    } else replace(errorBox);
    const pct = overallProgress(job);
    progressBox.hidden = pct === null || isTerminal(job.status);
    if (pct !== null) {
      progress.value = Math.round(pct * 100);
      progressLine.textContent = isTerminal(job.status) ? `${job.status.toLowerCase()} · ${Math.round(pct * 100)}%` : `${Math.round(pct * 100)}% · ${progressText(job) || job.status.toLowerCase()}`;
    }
  }

  function renderTimeline() {
    // The current attempt: its status changes from the transitions after the last one to QUEUED, its
    // phases from the progress events since then (the stream replays them when the page opens).
    const ts = job.transitions ?? [];
    let first = 0;
    ts.forEach((t, i) => {
      if (t.to === 'QUEUED') first = i;
    });
    const since = ts[first]?.at ?? '';
    const reached = new Map();
    let end = null;
    for (const t of ts.slice(first)) {
      if (t.to === 'QUEUED' || t.to === 'PREPARING') reached.set(t.to, t.at);
      if (t.phase && !reached.has(t.phase)) reached.set(t.phase, t.at);
      if (isTerminal(t.to)) end = t;
    }
    for (const e of events) if (e.type === 'progress' && e.data.phase && e.data.at >= since && !reached.has(e.data.phase)) reached.set(e.data.phase, e.data.at);
    if (!isTerminal(job.status) && job.phase && !reached.has(job.phase)) reached.set(job.phase, null);
    // A finished job whose events have not arrived yet: its phases all ran.
    if (job.status === 'SUCCEEDED' && !events.some((e) => e.type === 'progress')) for (const p of PHASES) if (!reached.has(p)) reached.set(p, null);
    if (end) reached.set('END', end.at);
    const last = Math.max(-1, ...STEPS.map((s, i) => (s.key !== 'END' && reached.has(s.key) ? i : -1)));
    replace(
      timeline,
      STEPS.map((s, i) => {
        let state;
        let label = s.label;
        if (s.key === 'END') {
          state = end ? (end.to === 'SUCCEEDED' ? 'done' : 'stopped') : 'pending';
          if (end) label = end.to === 'SUCCEEDED' ? 'Succeeded' : end.to === 'FAILED' ? 'Failed' : 'Cancelled';
        } else if (reached.has(s.key)) {
          state = i !== last ? 'done' : !isTerminal(job.status) ? 'current' : job.status === 'SUCCEEDED' ? 'done' : 'stopped-at';
        } else state = i < last ? 'skipped' : 'pending';
        const stateText = { done: 'done', current: 'in progress', pending: 'not reached', skipped: 'skipped', stopped: '', 'stopped-at': 'interrupted here' }[state];
        return h(
          'li',
          { class: `step ${state}`, 'data-step': s.key, 'aria-current': state === 'current' ? 'step' : null },
          h('span', { class: 'dot', 'aria-hidden': 'true' }),
          h('span', { class: 'step-label' }, label),
          stateText ? h('span', { class: 'visually-hidden' }, ` (${stateText})`) : null,
          reached.get(s.key) ? h('span', { class: 'step-time' }, time(reached.get(s.key), { short: true })) : state === 'skipped' ? h('span', { class: 'step-time muted' }, 'skipped') : null,
        );
      }),
    );
    replace(
      transitionsBody,
      (job.transitions ?? []).map((t) => h('tr', {}, h('td', {}, t.from ?? '–'), h('td', {}, statusBadge(t.to)), h('td', {}, t.phase ?? '–'), h('td', {}, t.message ?? ''), h('td', {}, time(t.at, { short: true })))),
    );
  }

  // Metric points by series (name + shard): one per epoch, the latest kept (a resumed attempt redoes
  // epochs and replaces their values; the same point may come from the API, an event and the report).
  const points = new Map();
  function addPoint(p) {
    if (!METRICS[p.name] || !isNum(p.value) || !isNum(p.epoch)) return;
    const key = `${p.name}|${p.shard ?? ''}`;
    if (!points.has(key)) points.set(key, new Map());
    points.get(key).set(p.epoch, { epoch: p.epoch, step: p.step ?? 0, value: p.value });
  }

  function renderCurves() {
    const floatEpochs = Math.max(0, ...[...points.entries()].filter(([k]) => k.startsWith('float.')).flatMap(([, m]) => [...m.values()].map((p) => p.epoch)));
    const hasAccuracy = [...points.keys()].some((k) => k.includes('accuracy'));
    const hasMae = [...points.keys()].some((k) => k.includes('mae'));
    const kind = hasAccuracy || !hasMae ? 'accuracy' : 'mae';
    if (kind !== secondKind) {
      secondChart.destroy();
      secondChart = lineChart(second.canvas, { yLabel: 'MAE' });
      secondKind = kind;
      secondTitle.textContent = 'Mean absolute error';
      second.canvas.setAttribute('aria-label', 'Training mean absolute error per epoch: float training, then QAT');
    }
    const series = { loss: [], second: [] };
    for (const [key, byEpoch] of [...points.entries()].sort()) {
      const [name, shard] = key.split('|');
      const m = METRICS[name];
      const offset = name.startsWith('qat.') ? floatEpochs : 0;
      const pts = [...byEpoch.values()].sort((a, b) => a.epoch - b.epoch || a.step - b.step).map((p) => ({ x: p.epoch + offset, y: p.value }));
      series[m.chart].push({ label: shard ? `${m.label} (shard ${shard})` : m.label, color: m.color, dashed: m.dashed || !!shard, points: pts });
    }
    const starts = floatEpochs > 0 && [...points.keys()].some((k) => k.startsWith('qat.')) ? floatEpochs + 0.5 : null;
    lossChart.update(series.loss, starts);
    secondChart.update(series.second, starts);
    const n = series.loss.reduce((a, s) => a + s.points.length, 0);
    // A job that ended before its first epoch has no curves to show: keep the note only.
    const none = n === 0 && series.second.length === 0 && isTerminal(job.status);
    for (const el of [loss.box, second.box, lossTitle, secondTitle]) el.hidden = none;
    curvesNote.textContent = n === 0 ? (isTerminal(job.status) ? 'No epochs were recorded.' : 'Curves appear after the first epoch.') : `Per epoch: ${floatEpochs === 0 ? 'no float training' : floatEpochs === 1 ? 'float epoch 1' : `float epochs 1–${floatEpochs}`}, then QAT.${isTerminal(job.status) ? '' : ' Updated live.'}`;
  }

  let metricsTimer = null;
  async function loadMetrics() {
    const { items } = await api(`/v1/jobs/${id}/metrics`, { signal });
    for (const m of items.filter((x) => METRICS[x.name])) {
      let token = null;
      do {
        const page = await api(`/v1/jobs/${id}/metrics/${encodeURIComponent(m.name)}?page_size=1000${token ? `&page_token=${encodeURIComponent(token)}` : ''}`, { signal });
        for (const p of page.items) addPoint({ ...p, name: m.name });
        token = page.next_page_token;
      } while (token);
    }
    renderCurves();
  }
  function scheduleMetrics(ms = 1500) {
    if (metricsTimer) return;
    metricsTimer = setTimeout(() => {
      metricsTimer = null;
      loadMetrics().catch(() => undefined);
    }, ms);
  }
  signal.addEventListener('abort', () => clearTimeout(metricsTimer));

  function renderResults() {
    const r = job.report;
    if (!r) {
      results.hidden = true;
      return;
    }
    layers?.destroy();
    const lc = chartBox('layers-chart', `Weight and output SQNR in dB per layer, with weight bits: ${r.layers.map((l) => l.name).join(', ')}`);
    lc.box.classList.add('layers');
    lc.box.style.height = `${Math.max(160, 70 + r.layers.length * 34)}px`;
    const agreement = agreementList(r);
    replace(
      results,
      h('h2', { id: 'results-title' }, 'Float vs PTQ vs QAT vs ONNX int8'),
      h('div', { class: 'panel' }, comparisonTable(r), agreement ? [h('h3', {}, 'Agreement'), agreement] : null),
      h('div', { class: 'panel' }, h('h3', {}, 'Per-layer quantization error and bits'), lc.box, h('details', {}, h('summary', {}, 'Per-layer table'), layersTable(r.layers))),
    );
    results.hidden = false;
    layers = layerChart(lc.canvas, r.layers);
    // Curves of a finished job whose metrics are gone: the report's own histories.
    if (points.size === 0) {
      for (const [phase, p] of [['float', r.train?.float], ['qat', r.train?.qat]]) {
        for (const e of p?.history ?? []) {
          for (const k of ['loss', 'accuracy', 'val_loss', 'val_accuracy']) if (isNum(e[k])) addPoint({ name: `${phase}.${k}`, epoch: e.epoch, step: 0, value: e[k], shard: null });
        }
      }
      renderCurves();
    }
  }

  async function loadArtifacts() {
    const { items } = await api(`/v1/jobs/${id}/artifacts`, { signal });
    replace(
      artifactsBody,
      items.map((a) => {
        const base = a.name.split('/').pop();
        const btn = h('button', { type: 'button', class: 'secondary small', 'aria-label': `Download ${a.name}`, 'data-artifact': a.name }, 'Download');
        btn.addEventListener('click', async () => {
          btn.disabled = true;
          try {
            const blob = await download(`/v1/jobs/${id}/artifacts/${a.name.split('/').map(encodeURIComponent).join('/')}`, base);
            toast(`Downloaded ${a.name} (${bytes(blob.size)}).`);
          } catch (err) {
            toast(`Download failed: ${errorText(err)}`, 'error');
          } finally {
            btn.disabled = false;
          }
        });
        return h(
          'tr',
          { 'data-artifact': a.name },
          h('th', { scope: 'row' }, h('code', {}, a.name)),
          h('td', { 'data-label': 'Kind' }, a.kind),
          h('td', { class: 'num', title: `${a.size_bytes} bytes`, 'data-label': 'Size' }, bytes(a.size_bytes)),
          h('td', { class: 'hash', 'data-label': 'sha256' }, h('code', {}, a.sha256)),
          h('td', { class: 'download' }, btn),
        );
      }),
    );
    artifactsNote.textContent = items.length === 0 ? (isTerminal(job.status) ? 'This job stored no files.' : 'Files appear here as the job stores them (while exporting).') : 'Check a download with sha256sum; the value is also the ETag.';
  }

  function renderConfig() {
    replace(
      configBody,
      Object.entries(job.config ?? {}).map(([k, v]) => h('tr', {}, h('th', { scope: 'row' }, h('code', {}, k)), h('td', {}, typeof v === 'string' ? v : JSON.stringify(v)))),
    );
  }

  async function reloadJob() {
    job = await api(`/v1/jobs/${id}`, { signal });
    renderHeader();
    renderTimeline();
    renderResults();
  }

  // ------------------------------------------------------------------ actions
  cancelBtn.addEventListener('click', async () => {
    cancelBtn.disabled = true;
    actionMsg.textContent = 'Cancelling…';
    try {
      const j = await api(`/v1/jobs/${id}/cancel`, { method: 'POST', signal });
      job = { ...job, ...j, transitions: job.transitions };
      actionMsg.textContent = j.status === 'CANCELLED' ? 'Cancelled.' : 'Cancel requested: the worker stops within about a second.';
      renderHeader();
    } catch (err) {
      actionMsg.textContent = `Could not cancel: ${errorText(err)}`;
      renderHeader();
    }
  });
  retryBtn.addEventListener('click', async () => {
    retryBtn.disabled = true;
    actionMsg.textContent = 'Retrying…';
    try {
      await api(`/v1/jobs/${id}/retry`, { method: 'POST', signal });
      toast('Queued again as a new attempt.');
      view.abort();
      await jobView(main, id, routeSignal);
      main.querySelector('#action-status').textContent = 'Queued again as a new attempt.';
      main.querySelector('h1')?.focus();
    } catch (err) {
      if (err?.name === 'AbortError') return;
      actionMsg.textContent = `Could not retry: ${errorText(err)}`;
      renderHeader();
    }
  });

  // ------------------------------------------------------------------ first render, then live
  renderHeader();
  renderTimeline();
  renderConfig();
  renderResults();
  await Promise.all([loadMetrics().catch(() => renderCurves()), loadArtifacts().catch((err) => (artifactsNote.textContent = `Could not list the artifacts: ${errorText(err)}`))]);

  let lastEpochKey = '';
  let renderQueued = false;
  const queueRender = () => {
    if (renderQueued) return;
    renderQueued = true;
    requestAnimationFrame(() => {
      renderQueued = false;
      renderHeader();
      renderTimeline();
    });
  };
  followEvents(`/v1/jobs/${id}/events`, {
    signal,
    onEvent: ({ type, data }) => {
      if (type === 'transition') {
        const t = { from: data.from ?? null, to: data.to, phase: data.phase ?? null, message: data.message ?? null, at: data.at };
        const known = (job.transitions ?? []).some((x) => x.to === t.to && x.at === t.at);
        job = { ...job, status: data.to, phase: data.phase ?? (isTerminal(data.to) ? null : job.phase), transitions: known ? job.transitions : [...(job.transitions ?? []), t], ...(data.error ? { error: data.error } : {}) };
        if (data.to === 'RUNNING' || isTerminal(data.to)) void loadArtifacts().catch(() => undefined);
      } else if (type === 'progress') {
        events.push({ type, data });
        const { at, ...p } = data;
        job = { ...job, progress: p, phase: p.phase ?? job.phase };
        const epochKey = `${p.phase}|${p.epoch}`;
        if (epochKey !== lastEpochKey) {
          lastEpochKey = epochKey;
          scheduleMetrics();
        }
        if (p.phase === 'EXPORTING') void loadArtifacts().catch(() => undefined);
      } else if (type === 'metric') {
        // One metric point ({name, value, epoch, step, shard?}) or several ({metrics: […]}).
        for (const m of Array.isArray(data.metrics) ? data.metrics : Array.isArray(data.items) ? data.items : [data]) addPoint(m);
        renderCurves();
        return;
      } else return;
      queueRender();
    },
    onEnd: async () => {
      try {
        await reloadJob();
        await Promise.all([loadMetrics(), loadArtifacts()]);
      } catch {
        /* shown on the next visit */
      }
    },
    onError: (err) => {
      actionMsg.textContent = `Live updates stopped: ${errorText(err)}`;
    },
  });
}
