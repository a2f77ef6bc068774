// GET /v1/jobs/{id}/events: the job's events as Server-Sent Events. The feed (replay from Postgres, then
// polling for new rows, see src/services/jobEvents.ts) is JobEventService's; this file checks the
// request, then takes the socket over (reply.hijack) and writes the SSE wire format.
import { Type } from 'typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { OutgoingHttpHeaders } from 'node:http';
import { type JobStreamEvent, parseEventCursor } from '../../services/jobEvents.js';
import type { ApiDeps } from '../deps.js';
import { IdParamsSchema } from '../schemas/apiKeys.js';
import { problems } from '../schemas/problem.js';

const EVENT_ID = { type: 'string', pattern: '^[0-9]{1,19}$' } as const;

const EventsHeadersSchema = Type.Object({
  'last-event-id': Type.Optional(Type.String({ ...EVENT_ID, description: 'Resume after this event id (browsers send it when they reconnect).' })),
});

const EventsQuerySchema = Type.Object(
  { last_event_id: Type.Optional(Type.String({ ...EVENT_ID, description: 'Resume after this event id, for clients that cannot set headers; the `Last-Event-ID` header wins.' })) },
  { additionalProperties: false },
);

const DESCRIPTION = [
  'Server-Sent Events (`text/event-stream`) of the job’s events: first those already recorded (all of them, or those after',
  '`Last-Event-ID` / `last_event_id`), then new ones as they are written, until the job is terminal.',
  '',
  'Each event is `id: <event id>`, `event: <type>` and one `data:` line of JSON: the event’s fields plus `at` (ISO 8601). Types:',
  '- `transition`: `{from, to, phase, attempt, message?, error?: {code, message}, at}`, one per status change;',
  '- `progress`: the worker’s progress (`{epoch, step, …, phase?, at}`), at most about one a second;',
  '- `metric`: per-epoch metric points, one event per batch the worker stores (the same points as `GET /v1/jobs/{id}/metrics`):',
  '  `{epoch?, points: [{name, value, step, epoch, shard}], at}` (`epoch` when all points of the batch share one);',
  '- other types the workers record, with their own fields.',
  '',
  'Ids increase within a stream, in the order the events were committed; reconnect with `Last-Event-ID` set to the last id',
  'received to resume without gaps or repeats.',
  'A `: keep-alive` comment is sent after 15 s without events. Once the job is SUCCEEDED, FAILED or CANCELLED and all its',
  'events were sent, a last `event: end` with `data: {"status": "<terminal status>"}` (no id) is sent and the server closes',
  'the stream; a client should then not reconnect. Errors (unknown job, bad key, bad `Last-Event-ID`) are answered',
  'before streaming, as problem+json.',
].join('\n');

const json = (v: unknown) => JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x));

/** One SSE message. JSON has no raw newlines, so `data` is always one line. */
export function sseMessage(e: JobStreamEvent): string {
  return `id: ${e.id}\nevent: ${e.type.replace(/[\r\n]/g, ' ')}\ndata: ${json(e.data)}\n\n`;
}

export const jobEventRoutes: FastifyPluginAsyncTypebox<{ deps: ApiDeps }> = async (app, { deps }) => {
  // Streams still open when the server closes are ended, so shutdown does not wait for clients.
  const open = new Set<AbortController>();
  app.addHook('preClose', async () => {
    for (const c of open) c.abort();
  });

  app.get(
    '/jobs/:id/events',
    {
      schema: {
        tags: ['jobs'],
        security: [{ bearerAuth: [] }],
        summary: 'Follow a job’s events (Server-Sent Events)',
        description: DESCRIPTION,
        params: IdParamsSchema,
        headers: EventsHeadersSchema,
        querystring: EventsQuerySchema,
        response: {
          200: {
            description: 'An event stream, e.g.\n\n```\nid: 41\nevent: transition\ndata: {"from":"PREPARING","to":"RUNNING","phase":null,"attempt":1,"at":"2025-01-01T00:00:00.000Z"}\n\nid: 42\nevent: progress\ndata: {"epoch":1,"step":10,"at":"2025-01-01T00:00:01.000Z"}\n\nid: 43\nevent: metric\ndata: {"epoch":1,"points":[{"name":"float.loss","value":0.41,"step":10,"epoch":1,"shard":null},{"name":"float.acc","value":0.88,"step":10,"epoch":1,"shard":null}],"at":"2025-01-01T00:00:01.000Z"}\n\n: keep-alive\n\nevent: end\ndata: {"status":"SUCCEEDED"}\n\n```',
            content: { 'text/event-stream': { schema: { type: 'string', description: 'text/event-stream (see the operation description).' } } },
          },
          400: problems[400],
          401: problems[401],
          404: problems[404],
          422: problems[422],
        },
      },
    },
    async (request, reply) => {
      const header = request.headers['last-event-id'];
      const after = header !== undefined ? parseEventCursor(header, 'header.last-event-id') : parseEventCursor(request.query.last_event_id, 'query.last_event_id');
      // Throws NotFound (404 problem+json) for another tenant's job, before anything is streamed.
      const stream = await deps.jobEvents.open(request.principal.tenantId, request.params.id, after);

      reply.hijack();
      const res = reply.raw;
      const controller = new AbortController();
      open.add(controller);
      const stop = () => controller.abort();
      request.raw.once('close', () => {
        // IncomingMessage also closes once its (empty) body is read; only a gone socket means the client left.
        if (request.raw.socket?.destroyed !== false || res.destroyed) stop();
      });
      res.once('close', stop);
      res.socket?.setNoDelay(true);
      res.writeHead(200, {
        // Headers other hooks set (rate limit) are kept; onSend hooks do not run for a hijacked reply.
        ...(reply.getHeaders() as OutgoingHttpHeaders),
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
        'x-request-id': request.id,
      });
      const write = (chunk: string): void | Promise<void> => {
        if (controller.signal.aborted || res.writableEnded) return;
        if (res.write(chunk)) return;
        // A slow client: wait until its buffer drains (or it goes) before reading more rows.
        return new Promise<void>((resolve) => {
          const done = () => {
            res.off('drain', done);
            controller.signal.removeEventListener('abort', done);
            resolve();
          };
          res.once('drain', done);
          controller.signal.addEventListener('abort', done, { once: true });
        });
      };
      write(`: job ${stream.jobId} events\n\n`);
      try {
        await stream.follow(
          {
            event: (e) => write(sseMessage(e)),
            heartbeat: () => write(': keep-alive\n\n'),
            end: (status) => write(`event: end\ndata: ${json({ status })}\n\n`),
          },
          controller.signal,
        );
      } catch (err) {
        // The database failed mid-stream: close; the client reconnects with Last-Event-ID.
        request.log.warn({ err: (err as Error).message, job_id: stream.jobId }, 'job event stream failed');
      } finally {
        open.delete(controller);
        res.off('close', stop);
        if (!res.writableEnded) res.end();
      }
    },
  );
};
