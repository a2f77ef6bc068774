// report.html: `qat run` writes it beside report.json (the renderer's output for that very report), and
// it opens in Chromium with every network request blocked, showing the comparison table, the curves
// and the per-layer chart as inline SVG. Plus the renderer's escaping and its regression variant.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderReportHtml, type RunReport } from '../../src/export/report/index.js';
import { tempDir } from '../support/env.js';
import { runQat } from '../support/process.js';
import { ARTIFACTS_DIR, launchBrowser } from './harness.js';

let browser: Browser;
let out: string;
let report: RunReport;

beforeAll(async () => {
  out = tempDir('qat-html-');
  const [run, b] = await Promise.all([runQat(['run', '--data', 'builtin:iris', '--epochs', '3', '--qat-epochs', '2', '--batch-size', '16', '--out', out], {}), launchBrowser()]);
  browser = b;
  expect(run.code, run.stderr).toBe(0);
  expect(run.stdout).toMatch(/wrote .*report\.json/);
  report = JSON.parse(await readFile(path.join(out, 'report.json'), 'utf8')) as RunReport;
}, 90_000);

afterAll(async () => {
  await browser?.close();
});

describe('report.html', () => {
  it('qat run writes it: the renderer’s output for its report.json', async () => {
    const html = await readFile(path.join(out, 'report.html'), 'utf8');
    expect(html).toBe(renderReportHtml(report));
    expect(renderReportHtml(report)).toBe(html); // pure: the same report gives the same bytes
    // Self-contained: no script that runs, no external stylesheet, image, font or link to fetch.
    expect(html).not.toMatch(/<script(?![^>]*type="application\/json")/);
    expect(html).not.toMatch(/<link |<img |@import|url\(|src=|href="http/);
    expect(html).toContain(`content="default-src 'none'; style-src 'unsafe-inline'; img-src data:"`);
  });

  it('opens in Chromium with the network blocked and shows the table, the curves and the per-layer chart', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, offline: true });
    const requests: string[] = [];
    await context.route('**/*', (route) => (route.request().url().startsWith('file:') ? route.continue() : route.abort()));
    const page = await context.newPage();
    page.on('request', (r) => requests.push(r.url()));
    const file = pathToFileURL(path.join(out, 'report.html')).href;
    await page.goto(file);

    expect(await page.title()).toBe('QAT report: zoo:mlp on builtin:iris');
    const rows = await page.$$eval('#comparison tbody tr', (trs) => trs.map((tr) => [tr.getAttribute('data-variant'), ...[...tr.querySelectorAll('td')].map((td) => td.textContent)]));
    expect(rows.map((r) => r[0])).toEqual(['float', 'ptq_weights_only', 'ptq_int8', 'qat_simulated', 'qat_int8', 'onnx_float', 'onnx_int8']);
    const pctOf = (v: number) => `${(v * 100).toFixed(2)}%`;
    expect(rows[0]!.slice(1, 3)).toEqual([pctOf(report.accuracy!.float), 'baseline']);
    expect(rows[6]![1]).toBe(pctOf(report.accuracy!.onnx_int8!));
    expect(rows[6]![2]).toMatch(/^([+−]\d+\.\d\d|0\.00) pp$/);
    expect(rows[6]![3]).toMatch(/KB \(\d+\.\d× smaller\)$/);
    expect(rows[6]![4]).toMatch(/^\d+\.\d{3} ms \(\d+\.\d\d× float\)$/);
    expect(rows[6]![5]).toMatch(/^[\d,]+\/s \(\d+\.\d\d×\)$/);

    // Curves: one marker per epoch and series (3 float + 2 QAT epochs), the x axis continuing into QAT.
    const series = await page.$$eval('#loss-chart svg g.series', (gs) => gs.map((g) => `${g.getAttribute('data-name')}:${g.querySelectorAll('circle').length}`));
    expect(series).toEqual(['float loss:3', 'QAT loss:2']);
    expect(await page.$$eval('#accuracy-chart svg g.series', (gs) => gs.map((g) => `${g.getAttribute('data-name')}:${g.querySelectorAll('circle').length}`))).toEqual(['float accuracy:3', 'QAT accuracy:2']);
    expect(await page.$$eval('#loss-chart svg polyline', (ps) => ps.length)).toBe(2);
    const box = await page.$eval('#loss-chart svg', (s) => s.getBoundingClientRect().width);
    expect(box).toBeGreaterThan(300); // drawn at a readable size
    // Per layer: a weight and an output bar per quantized layer, with its bits.
    expect(await page.$$eval('#layers-chart svg g.layer', (gs) => gs.map((g) => `${g.getAttribute('data-name')}:${g.querySelectorAll('rect').length}:${g.textContent?.match(/\d-bit [a-z-]+/)?.[0]}`))).toEqual(
      report.layers.map((l) => `${l.name}:2:${l.weight_bits}-bit ${l.granularity}`),
    );

    // Config, fingerprints, versions, artifacts, and the report itself embedded as inert JSON.
    expect(await page.$$eval('#config-table tbody tr', (trs) => trs.length)).toBe(Object.keys(report.config).length);
    const text = await page.textContent('body');
    expect(text).toContain(report.dataset.sha256);
    for (const a of report.artifacts) expect(text).toContain(a.sha256);
    expect(text).toContain(report.versions.node!);
    expect(JSON.parse((await page.textContent('#report-json'))!)).toEqual(report);

    await page.screenshot({ path: path.join(ARTIFACTS_DIR, 'report-html.png'), fullPage: true });
    expect(requests).toEqual([file]);
    await context.close();
  }, 30_000);

  it('escapes everything from the report and renders a regression report with MSE', () => {
    const hostile = structuredClone(report);
    hostile.dataset.name = '<img src=x onerror=alert(1)>';
    hostile.dataset.class_names = ['</script><script>alert(2)</script>', 'b', 'c'];
    hostile.config = { ...hostile.config, label_column: '"><b>x</b>' };
    const html = renderReportHtml(hostile);
    expect(html).not.toContain('<img src=x');
    expect(html).not.toContain('<b>x</b>');
    expect(html.match(/<\/script>/g)).toHaveLength(1); // only the JSON block's own end tag
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');

    const regression = structuredClone(report) as RunReport & { accuracy?: unknown };
    regression.task = 'regression';
    regression.mse = { float: 0.5, ptq_weights_only: 0.52, ptq_int8: 0.55, qat_simulated: 0.51, qat_int8: 0.49, int8_reference: 0.49, onnx_int8: 0.49, onnx_float: 0.5 };
    delete regression.accuracy;
    const r = renderReportHtml(regression);
    expect(r).toContain('<th scope="col" class="num">MSE</th>');
    expect(r).not.toContain('id="accuracy-chart"');
    // Lower is better: a lower MSE than float is a gain, a higher one a loss.
    expect(r).toMatch(/data-variant="qat_int8"[^]*?<td class="num good"[^>]*>−0\.01<\/td>/);
    expect(r).toMatch(/data-variant="ptq_int8"[^]*?<td class="num bad"[^>]*>\+0\.05<\/td>/);
  });

  it('says where a data-parallel run\'s time went (rounds over the queue), or that it trained its shards in turn', () => {
    expect(renderReportHtml(report)).not.toContain('id="data-parallel"');
    const queued = structuredClone(report);
    queued.train.data_parallel = {
      shards: 2,
      sync_every: 16,
      transport: 'bullmq',
      costs: { rounds: 120, round_seconds: 80, train_seconds: 76, wait_seconds: 2, sync_seconds: 4, merge_seconds: 0.6, state_bytes: 161_052 },
    };
    expect(renderReportHtml(queued)).toContain(
      '<p class="note" id="data-parallel">Data-parallel: 2 shards merged every 16 steps: 120 rounds over the queue took 80.0 s; training 76.0 s (95%), of which 2.0 s waiting for the slowest shard; synchronising 4.0 s (5%) (merging 0.6 s, 157.3 KB per state file).</p>',
    );
    const inTurn = structuredClone(report);
    inTurn.train.data_parallel = { shards: 4, sync_every: 8, transport: 'in-process', costs: null };
    expect(renderReportHtml(inTurn)).toContain('<p class="note" id="data-parallel">Data-parallel: 4 shards merged every 8 steps, trained in turn in one process.</p>');
  });
});
