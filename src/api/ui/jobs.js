// The jobs list: status filter, paging (the API's opaque page tokens), and live rows — every active job
// on the page is followed over its Server-Sent Events stream, so status, phase and progress move
// without reloading. The first page is also re-read every 10 s to show jobs submitted elsewhere.
import { api, errorText, followEvents } from './api.js';
import { h, headline, isNum, isTerminal, overallProgress, PHASE_LABELS, progressText, replace, shortId, sig, statusBadge, time } from './dom.js';
import { cachedName, loadNames, lookup } from './store.js';

const FILTERS = [
  ['', 'All statuses'],
  ['QUEUED,PREPARING,RUNNING,CANCELLING', 'Active'],
  ['QUEUED', 'Queued'],
  ['PREPARING', 'Preparing'],
  ['RUNNING', 'Running'],
  ['CANCELLING', 'Cancelling'],
  ['SUCCEEDED', 'Succeeded'],
  ['FAILED', 'Failed'],
  ['CANCELLED', 'Cancelled'],
];
const COLUMNS = ['Job', 'Status', 'Phase', 'Progress', 'Model', 'Dataset', 'Created', 'Finished', 'Accuracy (float → int8)'];
const PAGE_SIZES = ['10', '20', '50', '100'];
// Browsers open at most 6 connections per host over HTTP/1.1: leave room for the page's other requests.
const MAX_STREAMS = 3;
const REFRESH_MS = 10_000;

// Tokens that led to the current page, per filter, so "Newer" can go back.
let trail = { key: '', tokens: [] };

function hashFor(status, pageSize, token) {
  const q = new URLSearchParams();
  if (status) q.set('status', status);
  if (pageSize !== '20') q.set('page_size', pageSize);
  if (token) q.set('page_token', token);
  const s = q.toString();
  return `#/jobs${s ? `?${s}` : ''}`;
}

/** "epoch 3/10 · loss 0.213": the phase has its own column. */
function compactProgress(job) {
  const p = job.progress ?? {};
  const bits = [];
  if (isNum(p.epoch)) bits.push(`epoch ${p.epoch}${isNum(p.epochs) && p.epochs > 0 ? `/${p.epochs}` : ''}`);
  if (isNum(p.loss)) bits.push(`loss ${sig(p.loss, 3)}`);
  return bits.join(' · ');
}

export async function jobsView(main, params, signal) {
  const status = FILTERS.some(([v]) => v === params.get('status')) ? params.get('status') : '';
  const pageSize = PAGE_SIZES.includes(params.get('page_size')) ? params.get('page_size') : '20';
  const token = params.get('page_token');
  const trailKey = `${status}|${pageSize}`;
  if (trail.key !== trailKey) trail = { key: trailKey, tokens: [] };
  if (!token) trail.tokens = [];

  const statusSelect = h('select', { id: 'filter-status', name: 'status' }, FILTERS.map(([v, label]) => h('option', { value: v, selected: v === status }, label)));
  const sizeSelect = h('select', { id: 'filter-size', name: 'page_size' }, PAGE_SIZES.map((v) => h('option', { value: v, selected: v === pageSize }, v)));
  const go = (t) => {
    location.hash = hashFor(statusSelect.value, sizeSelect.value, t);
  };
  statusSelect.addEventListener('change', () => go(null));
  sizeSelect.addEventListener('change', () => go(null));

  const live = h('p', { class: 'muted live', id: 'live-status' });
  const tbody = h('tbody');
  const table = h(
    'table',
    { class: 'data jobs', id: 'jobs-table' },
    h('caption', { class: 'visually-hidden' }, 'Jobs, newest first'),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        COLUMNS.map((t) => h('th', { scope: 'col' }, t)),
      ),
    ),
    tbody,
  );
  const newer = h('button', { type: 'button', class: 'secondary', id: 'page-newer' }, '← Newer');
  const older = h('button', { type: 'button', class: 'secondary', id: 'page-older' }, 'Older →');
  const pageInfo = h('span', { class: 'muted', id: 'page-info' });
  const empty = h('p', { class: 'empty', hidden: true }, 'No jobs here yet. ', h('a', { href: '#/new' }, 'Submit one'), '.');
  const error = h('p', { class: 'alert error', role: 'alert', hidden: true });

  replace(
    main,
    h('div', { class: 'title-row' }, h('h1', {}, 'Jobs'), h('a', { href: '#/new', class: 'button' }, 'New job')),
    h(
      'form',
      { class: 'filters', 'aria-label': 'Filter jobs', onsubmit: (e) => e.preventDefault() },
      h('div', { class: 'field inline' }, h('label', { for: 'filter-status' }, 'Status'), statusSelect),
      h('div', { class: 'field inline' }, h('label', { for: 'filter-size' }, 'Per page'), sizeSelect),
      live,
    ),
    error,
    h('div', { class: 'scroll' }, table),
    empty,
    h('nav', { class: 'pager', 'aria-label': 'Pages' }, newer, pageInfo, older),
  );

  const rows = new Map(); // id → {job, tr, following}
  let streams = 0;
  let nextToken = null;

  newer.disabled = !token;
  newer.addEventListener('click', () => {
    const prev = trail.tokens.pop();
    go(prev ?? null);
  });
  older.addEventListener('click', () => {
    if (!nextToken) return;
    trail.tokens.push(token);
    go(nextToken);
  });

  const names = loadNames().catch(() => undefined);

  function fill(entry) {
    const { job, tr } = entry;
    const cells = tr.children;
    const pct = overallProgress(job);
    const active = !isTerminal(job.status);
    replace(cells[1], statusBadge(job.status));
    replace(cells[2], job.phase ? (PHASE_LABELS[job.phase] ?? job.phase) : h('span', { class: 'muted' }, '–'));
    replace(
      cells[3],
      pct === null
        ? h('span', { class: 'muted' }, '–')
        : h(
            'div',
            { class: 'progress-cell' },
            h('progress', { max: 100, value: Math.round(pct * 100), 'aria-label': `Progress of job ${shortId(job.id)}` }, `${Math.round(pct * 100)}%`),
            h('span', { class: 'progress-text', title: active ? progressText(job) : null }, active ? compactProgress(job) || `${Math.round(pct * 100)}%` : `${Math.round(pct * 100)}%`),
          ),
    );
    const model = cachedName('models', job.model_id) ?? job.report?.model?.name;
    const dataset = cachedName('datasets', job.dataset_id) ?? job.report?.dataset?.name;
    replace(cells[4], model ?? h('span', { class: 'muted', title: job.model_id }, shortId(job.model_id)));
    replace(cells[5], dataset ?? h('span', { class: 'muted', title: job.dataset_id }, shortId(job.dataset_id)));
    replace(cells[6], time(job.created_at, { short: true }));
    replace(cells[7], time(job.finished_at, { short: true }));
    const hl = headline(job.report);
    replace(
      cells[8],
      hl
        ? h('span', { class: 'headline' }, hl.fmt(hl.float), ' → ', h('strong', {}, hl.fmt(hl.deployed)))
        : job.error
          ? h('span', { class: 'bad', title: job.error.message }, job.error.code)
          : h('span', { class: 'muted' }, '–'),
    );
    tr.dataset.status = job.status;
  }

  function rowFor(job) {
    let entry = rows.get(job.id);
    if (!entry) {
      const tr = h(
        'tr',
        { 'data-job-id': job.id },
        h('th', { scope: 'row' }, h('a', { href: `#/jobs/${job.id}`, class: 'mono', 'aria-label': `Job ${shortId(job.id)}` }, shortId(job.id))),
        ...COLUMNS.slice(1).map((label) => h('td', { 'data-label': label })),
      );
      entry = { job, tr, following: false };
      rows.set(job.id, entry);
    } else entry.job = { ...entry.job, ...job };
    fill(entry);
    return entry;
  }

  async function refreshJob(id) {
    try {
      const job = await api(`/v1/jobs/${id}`, { signal });
      const entry = rows.get(id);
      if (entry) {
        entry.job = job;
        fill(entry);
      }
    } catch {
      /* the next refresh retries */
    }
  }

  function follow(entry) {
    if (entry.following || streams >= MAX_STREAMS || isTerminal(entry.job.status)) return;
    entry.following = true;
    streams++;
    const id = entry.job.id;
    const done = () => {
      if (!entry.following) return;
      entry.following = false;
      streams--;
      updateLive();
      void refreshJob(id).then(() => {
        for (const e of rows.values()) follow(e);
        updateLive();
      });
    };
    followEvents(`/v1/jobs/${id}/events`, {
      signal,
      onEvent: ({ type, data }) => {
        const job = entry.job;
        if (type === 'transition') {
          entry.job = { ...job, status: data.to, phase: data.phase ?? (isTerminal(data.to) ? null : job.phase), ...(data.error ? { error: data.error } : {}) };
        } else if (type === 'progress') {
          const { at, ...p } = data;
          entry.job = { ...job, progress: p, phase: p.phase ?? job.phase };
        } else return;
        fill(entry);
      },
      onEnd: done,
      onError: done,
    });
    updateLive();
  }

  function updateLive() {
    const active = [...rows.values()].filter((e) => !isTerminal(e.job.status)).length;
    live.textContent = active === 0 ? 'No active jobs on this page.' : `Live: following ${streams} of ${active} active job${active === 1 ? '' : 's'}${!token ? '; the list refreshes every 10 s' : ''}.`;
  }

  async function load() {
    const q = new URLSearchParams({ page_size: pageSize });
    if (status) q.set('status', status);
    if (token) q.set('page_token', token);
    const page = await api(`/v1/jobs?${q}`, { signal });
    error.hidden = true;
    nextToken = page.next_page_token;
    older.disabled = !nextToken;
    const order = page.items.map((j) => rowFor(j).tr);
    const same = order.length === tbody.children.length && order.every((tr, i) => tbody.children[i] === tr);
    if (!same) tbody.replaceChildren(...order);
    empty.hidden = page.items.length > 0;
    pageInfo.textContent = page.items.length ? `${page.items.length} job${page.items.length === 1 ? '' : 's'}${token ? ` · page ${trail.tokens.length + 2}` : ''}` : '';
    for (const entry of rows.values()) follow(entry);
    updateLive();
    // Names of models and datasets not in the first 300: fetched one by one, then the cells refilled.
    await names;
    for (const j of page.items) {
      if (cachedName('models', j.model_id) === undefined) void lookup('models', j.model_id).then(() => rows.get(j.id) && fill(rows.get(j.id)));
      if (cachedName('datasets', j.dataset_id) === undefined) void lookup('datasets', j.dataset_id).then(() => rows.get(j.id) && fill(rows.get(j.id)));
    }
    for (const entry of rows.values()) fill(entry);
  }

  try {
    await load();
  } catch (err) {
    if (err?.name === 'AbortError') return;
    error.hidden = false;
    error.textContent = `Could not load the jobs: ${errorText(err)}`;
  }
  if (!token) {
    const timer = setInterval(() => {
      if (document.visibilityState !== 'visible') return;
      load().catch((err) => {
        if (err?.name === 'AbortError') return;
        error.hidden = false;
        error.textContent = `Could not refresh the jobs: ${errorText(err)}`;
      });
    }, REFRESH_MS);
    signal.addEventListener('abort', () => clearInterval(timer));
  }
}
