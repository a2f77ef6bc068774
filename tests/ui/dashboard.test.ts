// The dashboard at /ui in headless Chromium against the real app (Postgres, Redis, an in-process worker
// on WASM): sign in with a key, upload the iris CSV, add a zoo model, submit a one-epoch job, watch it
// succeed with its curves and comparison table, download an artifact and check its sha256, cancel a
// second job, and the refusals: a wrong key, another tenant's job. Screenshots of the jobs list and a
// job page go to test-artifacts/ui/.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKey, uniqueName } from '../support/app.js';
import { ARTIFACTS_DIR, launchBrowser, type Stack, startStack } from './harness.js';

const IRIS = 'tests/fixtures/sklearn/iris.csv';

let stack: Stack;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let keyA: string;
let keyB: string;
let firstJobId: string;
const pageErrors: string[] = [];

// page.evaluate callbacks run in the browser; the project's TypeScript has no DOM lib, so they name what they use.
const api = async (key: string, method: string, url: string, payload?: object) => {
  const res = await stack.t.app.inject({ method: method as 'GET', url, headers: { authorization: `Bearer ${key}` }, ...(payload ? { payload } : {}) });
  return { status: res.statusCode, body: res.body ? res.json() : null };
};

beforeAll(async () => {
  [stack, browser] = await Promise.all([startStack('ui'), launchBrowser()]);
  [keyA, keyB] = await Promise.all([createKey(uniqueName('ui-a')), createKey(uniqueName('ui-b'))]);
  context = await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
  page = await context.newPage();
  page.setDefaultTimeout(15_000);
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('console', (m) => {
    // Refusals the tests provoke on purpose (401 wrong key, 404 other tenant, 422 invalid config) are logged by Chromium too.
    if (m.type() === 'error' && !/Failed to load resource: the server responded with a status of (401|404|422)/.test(m.text())) pageErrors.push(m.text());
  });
}, 60_000);

afterAll(async () => {
  await context?.close();
  await browser?.close();
  await stack?.close();
});

/** With the keyboard only: the key field has focus when the page opens, Enter submits. */
async function signIn(key: string): Promise<void> {
  await page.goto(`${stack.baseUrl}/ui/`);
  await page.waitForSelector('#api-key:focus');
  await page.keyboard.type(key);
  await page.keyboard.press('Enter');
}

/** Nothing wider than the viewport (tables scroll inside their own box). */
const pageWidth = () => page.evaluate(() => (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } }).document.documentElement.scrollWidth);

describe('dashboard (/ui) in Chromium', () => {
  it('is served without a key, from the service itself, outside the OpenAPI document; a wrong key is refused', async () => {
    const index = await fetch(`${stack.baseUrl}/ui/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toMatch(/^text\/html/);
    expect(index.headers.get('content-security-policy')).toMatch(/default-src 'none'.*script-src 'self'/);
    const chart = await fetch(`${stack.baseUrl}/ui/vendor/chart.umd.min.js`);
    expect([chart.status, (await chart.text()).length > 100_000]).toEqual([200, true]);
    expect((await fetch(`${stack.baseUrl}/ui`, { redirect: 'manual' })).headers.get('location')).toBe('/ui/');
    expect((await fetch(`${stack.baseUrl}/ui/nope.js`)).status).toBe(404);
    const etag = index.headers.get('etag')!;
    expect((await fetch(`${stack.baseUrl}/ui/`, { headers: { 'if-none-match': etag } })).status).toBe(304);
    const doc = stack.t.app.swagger() as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths).filter((p) => p.startsWith('/ui'))).toEqual([]);

    // Every request the page makes stays on the service's origin.
    const foreign: string[] = [];
    page.on('request', (r) => {
      if (!r.url().startsWith(stack.baseUrl) && !r.url().startsWith('blob:') && !r.url().startsWith('data:')) foreign.push(r.url());
    });
    await page.goto(`${stack.baseUrl}/ui/`);
    await expect.poll(() => page.evaluate(() => typeof (globalThis as { Chart?: unknown }).Chart)).toBe('function');
    // Malformed: refused in the page. Well-formed but unknown: refused by the API (401).
    await page.getByLabel('API key').fill('not-a-key');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.textContent('#api-key-error')).toMatch(/not an API key/);
    await page.getByLabel('API key').fill('qat_0123456789ab_thisIsNotARealSecretAtAll00000000000');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.textContent('#api-key-error')).toMatch(/refused/);
    expect(await page.getAttribute('#api-key', 'aria-invalid')).toBe('true');
    expect(await page.evaluate(() => (globalThis as unknown as { sessionStorage: { length: number } }).sessionStorage.length)).toBe(0);
    expect(await page.isHidden('#nav')).toBe(true);
    expect(foreign).toEqual([]);
  }, 30_000);

  it('signs in, uploads a dataset, adds a zoo model, checks the form and submits a job that succeeds with curves, table and artifacts', async () => {
    await signIn(keyA);
    await page.waitForSelector('#jobs-table');
    expect(await page.evaluate(() => (globalThis as unknown as { sessionStorage: { getItem(k: string): string | null } }).sessionStorage.getItem('qat.apiKey'))).toBe(keyA);
    await page.waitForSelector('text=No jobs here yet');

    await page.getByRole('link', { name: 'New job' }).first().click();
    await page.waitForSelector('#dataset-form');
    // Every form control has a label.
    const unlabelled = await page.$$eval('input, select', (els) => els.filter((e) => (e as unknown as { labels: unknown[] }).labels.length === 0).map((e) => e.id));
    expect(unlabelled).toEqual([]);
    // The page's own check first: no file chosen.
    await page.click('#dataset-form button[type=submit]');
    await expect.poll(() => page.textContent('#dataset-form-file-error')).toBe('Choose a file.');
    await page.setInputFiles('#dataset-form-file', IRIS);
    await page.getByLabel('Lines to skip (CSV/TSV)').fill('1');
    await page.click('#dataset-form button[type=submit]');
    await expect.poll(() => page.textContent('#dataset-result'), { timeout: 20_000 }).toMatch(/Uploaded iris\.csv: 150 samples, 4 features, classification, 3 classes/);

    await page.getByLabel('Architecture', { exact: true }).selectOption('mlp');
    await page.getByRole('button', { name: 'Add model' }).click();
    await expect.poll(() => page.textContent('#model-result')).toMatch(/Added zoo:mlp/);
    expect(await page.$eval('#job-form-dataset_id', (s) => (s as unknown as { selectedOptions: { textContent: string | null }[] }).selectedOptions[0]!.textContent)).toMatch(/^iris\.csv/);

    // In the page: a value out of range never reaches the server.
    await page.getByLabel('QAT epochs').fill('0');
    await page.click('#submit-job');
    await expect.poll(() => page.textContent('#job-form-qat_epochs-error')).toBe('Must be at least 1.');
    expect(await page.getAttribute('#job-form-qat_epochs', 'aria-invalid')).toBe('true');
    // From the server: a rule across fields, answered 422 problem+json, shown next to the field it names.
    await page.getByLabel('QAT epochs').fill('1');
    await page.getByLabel('Early-stopping patience (epochs)').fill('2');
    const refused = page.waitForResponse((r) => r.url().endsWith('/v1/jobs') && r.request().method() === 'POST');
    await page.click('#submit-job');
    expect((await refused).status()).toBe(422);
    await expect.poll(() => page.textContent('#job-form-patience-error')).toMatch(/early stopping needs a validation split/);
    expect(await page.textContent('#job-form .form-error')).toMatch(/INVALID_CONFIG|VALIDATION|invalid/i);

    await page.getByLabel('Early-stopping patience (epochs)').fill('');
    await page.getByLabel('Float epochs').fill('1');
    await page.getByLabel('Batch size').fill('16');
    await page.click('#submit-job');
    await page.waitForURL(/#\/jobs\/[0-9a-f-]{36}$/);
    firstJobId = page.url().split('/').pop()!;
    const submitted = await api(keyA, 'GET', `/v1/jobs/${firstJobId}`);
    expect(submitted.body.config).toMatchObject({ epochs: 1, qat_epochs: 1, batch_size: 16, patience: 0 });

    // Live: the status badge reaches SUCCEEDED through the event stream.
    await page.waitForSelector('#job-status [data-status="SUCCEEDED"]', { timeout: 60_000 });
    await page.waitForSelector('#comparison tbody tr[data-variant="onnx_int8"]');
    const rows = await page.$$eval('#comparison tbody tr', (trs) => trs.map((tr) => [tr.getAttribute('data-variant'), ...[...tr.querySelectorAll('td')].map((td) => td.textContent)]));
    expect(rows.map((r) => r[0])).toEqual(['float', 'ptq_weights_only', 'ptq_int8', 'qat_simulated', 'qat_int8', 'onnx_float', 'onnx_int8']);
    const onnx = rows.find((r) => r[0] === 'onnx_int8')!;
    expect(onnx[1]).toMatch(/^\d{1,3}\.\d\d%$/);
    expect(onnx[2]).toMatch(/pp$/);
    expect(onnx[3]).toMatch(/KB \(\d+\.\d× smaller\)/);
    expect(onnx[4]).toMatch(/ms/);
    expect(onnx[5]).toMatch(/\/s \(\d+\.\d\d×\)/);

    // Curves and the per-layer chart: Chart.js instances with data on the page.
    const charts = async () =>
      page.evaluate(() => {
        const C = (globalThis as unknown as { Chart: { getChart(id: string): { data: { datasets: { label: string; data: unknown[] }[] } } | undefined } }).Chart;
        const sets = (id: string) => C.getChart(id)?.data.datasets.map((d) => `${d.label}:${d.data.length}`) ?? null;
        return { loss: sets('loss-chart'), accuracy: sets('accuracy-chart'), layers: sets('layers-chart') };
      });
    await expect.poll(async () => (await charts()).loss).toEqual(['float loss:1', 'QAT loss:1']);
    expect(await charts()).toEqual({ loss: ['float loss:1', 'QAT loss:1'], accuracy: ['float accuracy:1', 'QAT accuracy:1'], layers: ['weight SQNR (dB):3', 'output SQNR (dB):3'] });
    expect(await page.$$eval('[data-step]', (lis) => lis.map((li) => `${li.getAttribute('data-step')}:${li.className.replace('step ', '')}`))).toEqual([
      'QUEUED:done',
      'PREPARING:done',
      'VALIDATING:done',
      'TRAINING_FLOAT:done',
      'CALIBRATING:done',
      'TRAINING_QAT:done',
      'QUANTIZING:done',
      'EVALUATING:done',
      'EXPORTING:done',
      'END:done',
    ]);
    expect(await page.isDisabled('#cancel-job')).toBe(true);
    expect(await page.isDisabled('#retry-job')).toBe(true);

    // Artifacts with sha256; a download goes through fetch with the bearer key and matches it.
    await page.waitForSelector('#artifacts-table tr[data-artifact="report.html"]');
    const listed = await page.$eval('#artifacts-table tr[data-artifact="model.int8.onnx"] td.hash', (td) => td.textContent);
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download model.int8.onnx' }).click()]);
    expect(download.suggestedFilename()).toBe('model.int8.onnx');
    const saved = path.join(ARTIFACTS_DIR, 'downloaded-model.int8.onnx');
    await download.saveAs(saved);
    expect(createHash('sha256').update(await readFile(saved)).digest('hex')).toBe(listed);
    await expect.poll(() => page.textContent('#toast')).toMatch(/Downloaded model\.int8\.onnx/);

    await page.screenshot({ path: path.join(ARTIFACTS_DIR, 'job-page.png'), fullPage: true });

    await page.getByRole('link', { name: 'Jobs', exact: true }).click();
    const row = page.locator(`#jobs-table tr[data-job-id="${firstJobId}"]`);
    await row.waitFor();
    expect(await row.getAttribute('data-status')).toBe('SUCCEEDED');
    await expect.poll(() => row.locator('td').allTextContents()).toEqual([
      'SUCCEEDED',
      '–',
      '100%100%',
      'zoo:mlp',
      'iris.csv',
      expect.any(String),
      expect.any(String),
      expect.stringMatching(/^\d+\.\d\d% → \d+\.\d\d%$/),
    ]);
    await page.screenshot({ path: path.join(ARTIFACTS_DIR, 'jobs-list.png'), fullPage: true });

    // Phone width: the same pages without sideways scrolling (the jobs table becomes cards).
    await page.setViewportSize({ width: 390, height: 844 });
    await expect.poll(pageWidth).toBeLessThanOrEqual(390);
    await page.screenshot({ path: path.join(ARTIFACTS_DIR, 'jobs-list-phone.png'), fullPage: true });
    await row.getByRole('link').click();
    await page.waitForSelector('#comparison');
    await page.waitForSelector('[data-step="TRAINING_QAT"].done .step-time');
    expect(await pageWidth()).toBeLessThanOrEqual(390);
    await page.screenshot({ path: path.join(ARTIFACTS_DIR, 'job-page-phone.png'), fullPage: true });
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.getByRole('link', { name: 'Jobs', exact: true }).click();
  }, 120_000);

  it('a data-parallel job: its page names the shards and where its rounds\' time went, with curves per shard', async () => {
    const first = (await api(keyA, 'GET', `/v1/jobs/${firstJobId}`)).body;
    const job = await api(keyA, 'POST', '/v1/jobs', { model_id: first.model_id, dataset_id: first.dataset_id, config: { epochs: 2, qat_epochs: 1, batch_size: 16, shards: 2, sync_every: 4 } });
    expect(job.status).toBe(202);
    const id = job.body.id as string;
    await expect.poll(async () => (await api(keyA, 'GET', `/v1/jobs/${id}`)).body.status, { timeout: 90_000, interval: 500 }).toBe('SUCCEEDED');
    await page.goto(`${stack.baseUrl}/ui/#/jobs/${id}`);
    await page.waitForSelector('#comparison');
    expect(await page.textContent('#job-summary')).toMatch(/Data-parallel2 shards, merged every 4 steps · \d+ rounds: training \d+%, sync \d+% \([\d.]+ KB per state\)/);
    // The loss chart has the merged curve and one per shard.
    const labels = () =>
      page.evaluate(() =>
        (globalThis as unknown as { Chart: { getChart(id: string): { data: { datasets: { label: string }[] } } } }).Chart.getChart('loss-chart').data.datasets.map((d) => d.label),
      );
    await expect.poll(labels, { timeout: 15_000 }).toEqual(expect.arrayContaining([expect.stringMatching(/shard 0/i), expect.stringMatching(/shard 1/i)]));
    await page.screenshot({ path: path.join(ARTIFACTS_DIR, 'job-page-data-parallel.png'), fullPage: true });
    await page.getByRole('link', { name: 'Jobs', exact: true }).click();
  }, 120_000);

  it('follows a running job live in the list and on its page, and cancels it with the button', async () => {
    const job = await api(keyA, 'POST', '/v1/jobs', { model_id: (await api(keyA, 'GET', `/v1/jobs/${firstJobId}`)).body.model_id, dataset_id: (await api(keyA, 'GET', `/v1/jobs/${firstJobId}`)).body.dataset_id, config: { epochs: 1000, batch_size: 4 } });
    expect(job.status).toBe(202);
    const id = job.body.id as string;
    await page.evaluate(() => ((globalThis as unknown as { noReload: boolean }).noReload = true));
    await page.getByLabel('Status', { exact: true }).selectOption({ label: 'Active' });
    const row = page.locator(`#jobs-table tr[data-job-id="${id}"]`);
    await row.waitFor();
    // Progress moves faster than the list's 10 s refresh: these changes came over the event stream.
    const progress = () => row.locator('.progress-text').textContent();
    await expect.poll(progress, { timeout: 30_000 }).toMatch(/epoch \d+\/1000/);
    const seen = await progress();
    await expect.poll(progress, { timeout: 4000, interval: 250 }).not.toBe(seen);
    expect(await page.textContent('#live-status')).toMatch(/Live: following 1 of 1 active job/);
    await page.screenshot({ path: path.join(ARTIFACTS_DIR, 'jobs-list-live.png'), fullPage: true });

    await row.getByRole('link').click();
    await page.waitForSelector('#job-status [data-status="RUNNING"]');
    await expect.poll(() => page.evaluate(() => (globalThis as unknown as { Chart: { getChart(id: string): { data: { datasets: { data: unknown[] }[] } } } }).Chart.getChart('loss-chart').data.datasets[0]?.data.length ?? 0), { timeout: 15_000 }).toBeGreaterThan(1);
    expect(await page.textContent('#job-progress-text')).toMatch(/Float training · epoch \d+\/1000/);
    await page.screenshot({ path: path.join(ARTIFACTS_DIR, 'job-page-running.png'), fullPage: true });
    await page.getByRole('button', { name: 'Cancel job' }).click();
    await page.waitForSelector('#job-status [data-status="CANCELLED"]', { timeout: 20_000 });
    expect(await page.textContent('[data-step="END"]')).toMatch(/Cancelled/);
    expect(await page.getAttribute('[data-step="TRAINING_FLOAT"]', 'class')).toMatch(/stopped-at/);
    expect(await page.isEnabled('#retry-job')).toBe(true);
    expect((await api(keyA, 'GET', `/v1/jobs/${id}`)).body.status).toBe('CANCELLED');

    // Retry: a new attempt, followed live from QUEUED again; then cancelled again.
    await page.getByRole('button', { name: 'Retry' }).click();
    await expect.poll(() => page.textContent('#action-status')).toMatch(/Queued again as a new attempt/);
    await page.waitForSelector('#job-status [data-status="RUNNING"]', { timeout: 30_000 });
    expect(await page.textContent('#job-summary')).toMatch(/Attempt2/);
    expect(await page.getAttribute('[data-step="END"]', 'class')).toMatch(/pending/);
    await page.getByRole('button', { name: 'Cancel job' }).click();
    await page.waitForSelector('#job-status [data-status="CANCELLED"]', { timeout: 20_000 });
    expect((await api(keyA, 'GET', `/v1/jobs/${id}`)).body).toMatchObject({ status: 'CANCELLED', attempt: 2 });
    expect(await page.evaluate(() => (globalThis as unknown as { noReload?: boolean }).noReload)).toBe(true);
  }, 60_000);

  it('another tenant sees none of it: not in the list, its job page and artifacts answer not found', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForSelector('#api-key');
    expect(await page.evaluate(() => (globalThis as unknown as { sessionStorage: { getItem(k: string): string | null } }).sessionStorage.getItem('qat.apiKey'))).toBeNull();
    await page.getByLabel('API key').fill(keyB);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForSelector('#nav:not([hidden])');
    await page.getByRole('link', { name: 'Jobs', exact: true }).click();
    await page.waitForSelector('text=No jobs here yet');
    expect(await page.locator('#jobs-table tbody tr').count()).toBe(0);
    await page.goto(`${stack.baseUrl}/ui/#/jobs/${firstJobId}`);
    await expect.poll(() => page.textContent('#job-error')).toMatch(/belongs to another tenant \(NOT_FOUND\)/);
    expect(await page.textContent('h1')).toBe('Job not found');
    const artifact = await page.evaluate(
      async ([id, key]) => (await fetch(`/v1/jobs/${id}/artifacts/model.int8.onnx`, { headers: { authorization: `Bearer ${key}` } })).status,
      [firstJobId, keyB] as const,
    );
    expect(artifact).toBe(404);
    expect(pageErrors).toEqual([]);
  }, 30_000);
});
