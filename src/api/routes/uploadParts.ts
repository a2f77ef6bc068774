// Reading a multipart upload (datasets and models): each part named `file` is streamed straight into the
// upload (the blob store), the other parts are form fields, checked against the route's field schema.
// Problems with the request's shape (not multipart, no file part, unknown or malformed fields) are 400s
// naming the part, in the same problem+json as Fastify's own validation errors.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { TObject } from 'typebox';
import { Value } from 'typebox/value';
import { AppError, type FieldProblem, PayloadTooLargeError } from '../../errors/index.js';
import { RunConfigSchema } from '../../services/runConfig.js';
import { schemaProblems } from '../../services/schemaProblems.js';

/** Files and fields arrive in one request; these limits bound what busboy parses besides file bytes. */
export const MULTIPART_LIMITS = { files: 100, fields: 20, fieldSize: 4096, parts: 130, fieldNameSize: 100, headerPairs: 200 } as const;

/** A 400 in the shape of Fastify's validation errors (problem.ts lists each as `body.<field>`). */
export function badRequest(problems: FieldProblem[]): FastifyError {
  const err = new Error(problems.map((p) => `${p.field} ${p.reason}`).join('; ')) as FastifyError & { validationContext: string };
  err.statusCode = 400;
  err.code = 'FST_ERR_VALIDATION';
  err.validationContext = 'body';
  err.validation = problems.map((p) => ({ keyword: 'upload', instancePath: `/${p.field}`, schemaPath: '', params: {}, message: p.reason }));
  return err;
}

export interface UploadTarget {
  addFile(name: string | undefined, source: AsyncIterable<Uint8Array>): Promise<void>;
  readonly fileCount: number;
}

const RUN_OPTIONS = new Set(Object.keys(RunConfigSchema.properties));

/** Turns the multipart plugin's and busboy's errors into 400/413 problems; passes the service's through. */
function uploadError(err: unknown, maxBytes: number): unknown {
  if (err instanceof AppError) return err;
  const e = err as Partial<FastifyError>;
  if (e.code === 'FST_REQ_FILE_TOO_LARGE') return new PayloadTooLargeError(maxBytes);
  if (e.code === 'FST_FILES_LIMIT') return badRequest([{ field: 'file', reason: `more than ${MULTIPART_LIMITS.files} files in one upload` }]);
  if (e.code === 'FST_FIELDS_LIMIT' || e.code === 'FST_PARTS_LIMIT') return badRequest([{ field: 'file', reason: `more than ${MULTIPART_LIMITS.fields} form fields or ${MULTIPART_LIMITS.parts} parts in one upload` }]);
  if (e.code === 'FST_PROTO_VIOLATION' || e.code === 'FST_INVALID_JSON_FIELD_ERROR') return badRequest([{ field: 'file', reason: e.message ?? 'malformed part' }]);
  if (typeof e.statusCode === 'number' && e.statusCode < 500) return err;
  // busboy's own errors ("Unexpected end of form", "Malformed part header", …) carry no status.
  return badRequest([{ field: 'file', reason: `malformed multipart/form-data body (${e.message ?? String(err)})` }]);
}

/**
 * Streams every `file` part into `target` and returns the form fields, converted and checked against
 * `fields`. Throws a 400 when the request is not multipart or has no file part.
 */
export async function receiveUpload<S extends TObject>(request: FastifyRequest, target: UploadTarget, fields: S, maxBytes: number): Promise<Record<string, unknown>> {
  if (!request.isMultipart()) {
    const type = request.headers['content-type'] ?? 'none';
    throw badRequest([{ field: 'file', reason: `send multipart/form-data with the upload in parts named file (content-type was ${type})` }]);
  }
  const known = Object.keys(fields.properties);
  const raw: Record<string, unknown> = {};
  const problems: FieldProblem[] = [];
  try {
    for await (const part of request.parts()) {
      if (part.type === 'file') {
        if (part.fieldname !== 'file') {
          part.file.resume();
          throw badRequest([{ field: part.fieldname, reason: 'is not a known part: files go in parts named file' }]);
        }
        await target.addFile(part.filename, part.file);
        continue;
      }
      const name = part.fieldname;
      if (!known.includes(name)) {
        const reason = RUN_OPTIONS.has(name) ? `is an option of the job, not of the upload: give it in the config of POST /v1/jobs` : `is not a known field (known: file, ${known.join(', ')})`;
        problems.push({ field: name, reason });
      } else if (name in raw) problems.push({ field: name, reason: 'is given more than once' });
      else if (part.valueTruncated) problems.push({ field: name, reason: `is longer than ${MULTIPART_LIMITS.fieldSize} bytes` });
      else raw[name] = typeof part.value === 'string' ? part.value : JSON.stringify(part.value);
    }
  } catch (err) {
    throw uploadError(err, maxBytes);
  }
  if (target.fileCount === 0) problems.unshift({ field: 'file', reason: 'is missing: send the upload in one or more parts named file' });
  const converted = Value.Convert(fields, raw) as Record<string, unknown>;
  problems.push(...schemaProblems(fields, converted, 'body'));
  if (problems.length > 0) throw badRequest(problems);
  return converted;
}

/** A 413 ends the connection: the client may still be sending a body the server will not read. */
export function closeOnTooLarge(reply: FastifyReply, err: unknown): void {
  if (err instanceof PayloadTooLargeError) reply.header('connection', 'close');
}

/**
 * Lets a multipart body through Fastify's validation: its schema only documents the form (OpenAPI);
 * the parts are read as a stream in the handler and checked there.
 */
export async function multipartBodyPlaceholder(request: FastifyRequest): Promise<void> {
  if (request.isMultipart()) request.body = { file: [] };
}
