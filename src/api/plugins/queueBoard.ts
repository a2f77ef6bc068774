// Bull Board (the BullMQ dashboard) at /admin/queues, mounted only when ADMIN_API_KEY is set.
//
// Access: `Authorization: Bearer <ADMIN_API_KEY>`, or HTTP basic with the key as the password (any
// user name) so a person can open it in a browser, which prompts for it. Compared in constant time
// (SHA-256 of both sides, timingSafeEqual). Anything else: 401 problem+json with Basic and Bearer
// challenges. The board is read-only: Postgres is the truth of every job (DESIGN §1), so job state
// changes go through the API (cancel, retry), never through BullMQ directly.
//
// Layering: src/api may not import src/queue, so the composition root (src/cli/runtime.ts) builds
// the board's queue adapters from BullMQ Queue objects and passes them in ApiDeps.queueBoard; this
// plugin only mounts them. Its routes are hidden from the OpenAPI document.
import { createHash, timingSafeEqual } from 'node:crypto';
import { createBullBoard } from '@bull-board/api';
import { FastifyAdapter } from '@bull-board/fastify';
import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../deps.js';
import { buildProblem, sendProblem } from '../problem.js';

export const QUEUE_BOARD_PATH = '/admin/queues';

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/** The secret a request presents: a bearer token, or the password of HTTP basic credentials. */
export function presentedSecret(authorization: string | undefined): string | undefined {
  const m = /^(Bearer|Basic)\s+(\S+)\s*$/i.exec(authorization ?? '');
  if (!m) return undefined;
  if (m[1]!.toLowerCase() === 'bearer') return m[2];
  const decoded = Buffer.from(m[2]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : decoded.slice(colon + 1);
}

export function isAdmin(authorization: string | undefined, expected: Buffer): boolean {
  const given = presentedSecret(authorization);
  // Hash the absent case too, so every path costs the same.
  return timingSafeEqual(digest(given ?? ''), expected) && given !== undefined;
}

export async function registerQueueBoard(app: FastifyInstance, deps: Pick<ApiDeps, 'config' | 'queueBoard'>): Promise<void> {
  const key = deps.config.adminApiKey;
  if (!key || !deps.queueBoard) return;
  const expected = digest(key);

  const server = new FastifyAdapter();
  server.setBasePath(QUEUE_BOARD_PATH);
  createBullBoard({ queues: deps.queueBoard.queues, serverAdapter: server, options: { uiConfig: { boardTitle: 'qat queues' } } });

  await app.register(async (scope) => {
    scope.addHook('onRequest', async (request, reply) => {
      if (isAdmin(request.headers.authorization, expected)) return;
      // Replied here rather than thrown: the board's own error handler would not answer problem+json.
      reply.header('www-authenticate', ['Basic realm="qat-admin", charset="UTF-8"', 'Bearer realm="qat-admin"']);
      return sendProblem(
        reply,
        buildProblem(request, 401, 'UNAUTHORIZED', 'admin access: send Authorization: Bearer <ADMIN_API_KEY>, or HTTP basic with the key as password'),
      );
    });
    await scope.register(server.registerPlugin(), { prefix: QUEUE_BOARD_PATH });
  });
}
