// What the browser tests run against: the production app listening on a real port (test Postgres, local
// Redis under a unique queue prefix) with an in-process worker on the WASM backend, as
// tests/workers/train-job.test.ts does; and Debian's Chromium driven by playwright-core.
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium } from 'playwright-core';
import { buildTestApp, type TestApp } from '../support/app.js';
import { useBackend } from '../support/backends.js';
import { startTestWorker } from '../support/worker.js';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const ARTIFACTS_DIR = fileURLToPath(new URL('../../test-artifacts/ui/', import.meta.url));

// No network beyond what a test serves itself: no updates, no sync, no QUIC, no component downloads.
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'];

/** Launches Chromium; a missing browser is an error with the fix, never a skipped test. */
export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM}: the browser tests need Debian's chromium package. ` +
        'Run `bash scripts/setup.sh` as root (it installs it), or `apt-get install -y chromium`, or set CHROMIUM_PATH.',
    );
  }
  await mkdir(ARTIFACTS_DIR, { recursive: true });
  return chromium.launch({ executablePath: CHROMIUM, args: ARGS, timeout: 30_000 });
}

export interface Stack {
  t: TestApp;
  baseUrl: string;
  close(): Promise<void>;
}

/** The API on 127.0.0.1:<free port> plus a worker consuming its training and shard queues. */
export async function startStack(name: string, env: Record<string, string> = {}): Promise<Stack> {
  const prefix = `qat-test-${name}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  await useBackend('wasm');
  const t = await buildTestApp({ QUEUE_PREFIX: prefix, ...env });
  const address = await t.app.listen({ host: '127.0.0.1', port: 0 });
  // Data-parallel jobs' rounds too, as every `qat worker` consumes them.
  const worker = await startTestWorker(t, prefix, { shards: true });
  return { t, baseUrl: address, close: () => worker.close() };
}
