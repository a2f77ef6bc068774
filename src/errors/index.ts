// The one error hierarchy of the service. Layers throw these; src/api/problem.ts is the single place
// that maps them to HTTP, and the CLI/worker map them to exit codes and job failure codes.

export interface FieldProblem {
  /** JSON-pointer-like path of the offending input, e.g. `body.name` or `PORT`. */
  field: string;
  reason: string;
}

export abstract class AppError extends Error {
  /** Stable, machine-readable code (SCREAMING_SNAKE_CASE) that clients and job records carry. */
  abstract readonly code: string;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Input that is well-formed but wrong; `fields` names each offending input and why. */
export class ValidationError extends AppError {
  readonly code: string;
  readonly fields: FieldProblem[];

  constructor(fields: FieldProblem[], message?: string, code = 'VALIDATION_FAILED') {
    super(message ?? fields.map((f) => `${f.field}: ${f.reason}`).join('; '));
    this.fields = fields;
    this.code = code;
  }
}

export class ConfigError extends ValidationError {
  constructor(fields: FieldProblem[]) {
    super(fields, `invalid configuration: ${fields.map((f) => `${f.field} ${f.reason}`).join('; ')}`, 'INVALID_CONFIG');
  }
}

export class NotFoundError extends AppError {
  readonly code = 'NOT_FOUND';
  constructor(
    readonly resource: string,
    readonly id?: string,
  ) {
    super(id === undefined ? `${resource} not found` : `${resource} ${id} not found`);
  }
}

/** The request conflicts with the current state of a resource (e.g. cancelling a finished job). */
export class ConflictError extends AppError {
  readonly code: string;
  constructor(message: string, code = 'CONFLICT') {
    super(message);
    this.code = code;
  }
}

export class UnauthorizedError extends AppError {
  readonly code = 'UNAUTHORIZED';
}

export class PayloadTooLargeError extends AppError {
  readonly code = 'PAYLOAD_TOO_LARGE';
  constructor(readonly limitBytes: number) {
    super(`payload exceeds the limit of ${limitBytes} bytes`);
  }
}

/** A byte range outside the resource (HTTP 416 with the resource's size). */
export class RangeNotSatisfiableError extends AppError {
  readonly code = 'RANGE_NOT_SATISFIABLE';
  constructor(
    readonly range: string,
    readonly sizeBytes: number,
  ) {
    super(`range ${range} is outside the ${sizeBytes} bytes`);
  }
}

export class RateLimitedError extends AppError {
  readonly code = 'RATE_LIMITED';
  constructor(readonly retryAfterSeconds: number) {
    super(`rate limit exceeded; retry after ${retryAfterSeconds}s`);
  }
}

/** A dependency (Postgres, Redis, storage) did not answer; `dependency` names which. */
export class DependencyUnavailableError extends AppError {
  readonly code = 'DEPENDENCY_UNAVAILABLE';
  constructor(
    readonly dependency: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`${dependency}: ${reason}`, options);
  }
}

export class MigrationError extends AppError {
  readonly code = 'MIGRATION_FAILED';
  constructor(
    readonly migration: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`migration ${migration}: ${message}`, options);
  }
}

/** A job lifecycle move that §4 of the design does not allow. */
export class InvalidTransitionError extends ConflictError {
  constructor(from: string, to: string) {
    super(`a job cannot move from ${from} to ${to}`, 'INVALID_TRANSITION');
  }
}
