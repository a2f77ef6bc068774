// The one place where errors become HTTP: domain errors (src/errors), Fastify's own errors
// (validation, body too large, bad JSON, unsupported media type) and anything unexpected all leave
// as application/problem+json (RFC 9457). Unexpected errors are logged and never leak internals.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  AppError,
  ConflictError,
  DependencyUnavailableError,
  type FieldProblem,
  NotFoundError,
  PayloadTooLargeError,
  RangeNotSatisfiableError,
  RateLimitedError,
  UnauthorizedError,
  ValidationError,
} from '../errors/index.js';
import type { Problem } from './schemas/problem.js';

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  416: 'Range Not Satisfiable',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8';

export function problemType(code: string): string {
  return `urn:qat:problem:${code.toLowerCase().replaceAll('_', '-')}`;
}

interface Mapped {
  status: number;
  code: string;
  detail: string;
  errors?: FieldProblem[];
  headers?: Record<string, string>;
}

function statusOf(err: AppError): number {
  if (err instanceof ValidationError) return 422;
  if (err instanceof NotFoundError) return 404;
  if (err instanceof ConflictError) return 409;
  if (err instanceof UnauthorizedError) return 401;
  if (err instanceof PayloadTooLargeError) return 413;
  if (err instanceof RateLimitedError) return 429;
  if (err instanceof RangeNotSatisfiableError) return 416;
  if (err instanceof DependencyUnavailableError) return 503;
  return 500;
}

/** Fastify's schema validation: one entry per failing keyword, named by where it is in the request. */
function validationProblems(err: FastifyError): FieldProblem[] {
  const part = err.validationContext ?? 'body';
  return (err.validation ?? []).map((v) => {
    const missing = v.keyword === 'required' ? `.${String((v.params as { missingProperty?: string }).missingProperty)}` : '';
    const extra = v.keyword === 'additionalProperties' ? `.${String((v.params as { additionalProperty?: string }).additionalProperty)}` : '';
    const pointer = v.instancePath.replace(/^\//, '').replaceAll('/', '.');
    const field = [part, pointer].filter(Boolean).join('.') + (missing || extra);
    const reason = v.keyword === 'additionalProperties' ? 'is not a known property' : (v.message ?? 'is invalid');
    return { field, reason };
  });
}

function mapError(err: unknown): Mapped {
  if (err instanceof AppError) {
    const mapped: Mapped = { status: statusOf(err), code: err.code, detail: err.message };
    if (err instanceof ValidationError) mapped.errors = err.fields;
    if (err instanceof RateLimitedError) mapped.headers = { 'retry-after': String(err.retryAfterSeconds) };
    if (err instanceof RangeNotSatisfiableError) mapped.headers = { 'content-range': `bytes */${err.sizeBytes}` };
    if (err instanceof UnauthorizedError) mapped.headers = { 'www-authenticate': 'Bearer realm="qat"' };
    return mapped;
  }
  const fe = err as FastifyError;
  if (fe.validation) {
    const errors = validationProblems(fe);
    return { status: 400, code: 'INVALID_REQUEST', detail: errors.map((e) => `${e.field} ${e.reason}`).join('; '), errors };
  }
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    // Fastify's own client errors (FST_ERR_CTP_BODY_TOO_LARGE, FST_ERR_CTP_INVALID_MEDIA_TYPE, bad JSON…)
    const code = fe.code?.startsWith('FST_ERR_') ? fastifyCode(fe.code) : 'BAD_REQUEST';
    return { status: fe.statusCode, code, detail: fe.message };
  }
  return { status: 500, code: 'INTERNAL', detail: 'an unexpected error occurred; the request id identifies it in the logs' };
}

const FASTIFY_CODES: Record<string, string> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_INVALID_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'BAD_REQUEST',
};

const fastifyCode = (code: string): string => FASTIFY_CODES[code] ?? 'BAD_REQUEST';

export function buildProblem(request: FastifyRequest, status: number, code: string, detail: string, extra: Record<string, unknown> = {}): Problem {
  return {
    type: problemType(code),
    title: TITLES[status] ?? 'Error',
    status,
    detail,
    instance: request.url.split('?')[0] ?? request.url,
    code,
    request_id: String(request.id),
    ...extra,
  };
}

export function sendProblem(reply: FastifyReply, problem: Problem, headers: Record<string, string> = {}): FastifyReply {
  return reply.code(problem.status).headers(headers).type(PROBLEM_CONTENT_TYPE).send(problem);
}

export function registerProblemHandlers(app: FastifyInstance): void {
  app.setErrorHandler((err, request, reply) => {
    const m = mapError(err);
    if (m.status >= 500) request.log.error({ err }, 'request failed');
    else request.log.info({ code: m.code, status: m.status }, m.detail);
    const extra = m.errors ? { errors: m.errors } : {};
    return sendProblem(reply, buildProblem(request, m.status, m.code, m.detail, extra), m.headers);
  });

  app.setNotFoundHandler((request, reply) =>
    sendProblem(reply, buildProblem(request, 404, 'ROUTE_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`)),
  );
}
