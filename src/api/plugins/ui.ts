// The dashboard at /ui: static files from src/api/ui (plain ES modules, no build step) and the chart
// library's UMD build from node_modules, both served by the service itself (no CDN).
//
// - No authentication to load the page: it holds no data. The page asks for an API key, keeps it in the
//   tab's sessionStorage and sends it as a bearer token on every /v1 call (no cookies, so no CSRF).
// - Files are read once at start-up into memory, each with its sha256 as ETag (If-None-Match → 304) and
//   `cache-control: no-cache`, so a browser revalidates and an upgraded service is picked up at once.
// - A strict Content-Security-Policy: scripts, styles and connections only from this origin.
// - Hidden from the OpenAPI document: it is not part of the API contract.
// - The folder is found relative to the package root, so it works from src/ (tsx) and dist/ alike;
//   an image without src/api/ui (see docker/Dockerfile) serves no dashboard and logs why.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { buildProblem, sendProblem } from '../problem.js';

export const UI_PATH = '/ui';

/** src/api/ui of this package: three levels up from src/api/plugins (or dist/api/plugins). */
export const UI_DIR = fileURLToPath(new URL('../../../src/api/ui/', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};

const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "font-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

interface StaticFile {
  body: Buffer;
  type: string;
  etag: string;
}

function load(file: string): StaticFile {
  const body = readFileSync(file);
  return { body, type: TYPES[path.extname(file)] ?? 'application/octet-stream', etag: `"${createHash('sha256').update(body).digest('hex').slice(0, 32)}"` };
}

/** Every file under `dir` by its URL path relative to it (`/`-separated); dot files are skipped. */
function collect(dir: string): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || entry.name.startsWith('.')) continue;
    const full = path.join(entry.parentPath, entry.name);
    files.set(path.relative(dir, full).split(path.sep).join('/'), load(full));
  }
  return files;
}

/** The chart library's browser build (Chart.js UMD, MIT): its package exports hide dist/, so it is found from the main entry. */
export function chartLibraryFile(): string {
  const require = createRequire(import.meta.url);
  return path.join(path.dirname(require.resolve('chart.js')), 'chart.umd.min.js');
}

export interface UiOptions {
  /** Where the dashboard's files are; default src/api/ui of this package. */
  dir?: string;
}

export async function registerUi(app: FastifyInstance, opts: UiOptions = {}): Promise<void> {
  const dir = opts.dir ?? UI_DIR;
  if (!existsSync(path.join(dir, 'index.html'))) {
    app.log.warn({ dir }, 'dashboard files not found: /ui is not served');
    return;
  }
  const files = collect(dir);
  files.set('vendor/chart.umd.min.js', load(chartLibraryFile()));
  const index = files.get('index.html')!;

  const send = (reply: FastifyReply, f: StaticFile, ifNoneMatch: string | undefined) => {
    reply
      .header('content-security-policy', CSP)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .header('cache-control', 'no-cache')
      .header('etag', f.etag);
    if (ifNoneMatch !== undefined && ifNoneMatch.split(',').some((t) => t.trim().replace(/^W\//, '') === f.etag)) return reply.code(304).send();
    return reply.type(f.type).send(f.body);
  };

  await app.register(async (scope) => {
    const hidden = { schema: { hide: true } };
    scope.get(UI_PATH, hidden, async (_request, reply) => reply.redirect(`${UI_PATH}/`, 302));
    scope.get(`${UI_PATH}/`, hidden, async (request, reply) => send(reply, index, request.headers['if-none-match']));
    scope.get<{ Params: { '*': string } }>(`${UI_PATH}/*`, hidden, async (request, reply) => {
      const f = files.get(request.params['*']);
      if (!f) return sendProblem(reply, buildProblem(request, 404, 'ROUTE_NOT_FOUND', `no dashboard file ${request.params['*']}`));
      return send(reply, f, request.headers['if-none-match']);
    });
  });
}
