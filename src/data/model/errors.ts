// A model that cannot be imported, named precisely: which part (`model` for the architecture, `weights`
// for the manifest and weight files) and why. A ValidationError, so the API answers 4xx and a job
// fails fast without retry, with the stable code INVALID_MODEL.
import { type FieldProblem, ValidationError } from '../../errors/index.js';

export class ModelError extends ValidationError {
  constructor(problems: FieldProblem[], code = 'INVALID_MODEL') {
    super(problems, undefined, code);
  }
}

export const modelProblem = (reason: string): FieldProblem => ({ field: 'model', reason });
export const weightsProblem = (reason: string): FieldProblem => ({ field: 'weights', reason });

/** Throws every problem at once, if there is any. */
export function refuse(problems: FieldProblem[]): void {
  if (problems.length > 0) throw new ModelError(problems);
}

export interface ModelLimits {
  /** Weights of the whole model (trainable and not), computed from the declared shapes. */
  maxParams: number;
  /** Size of the model JSON when given as text or bytes (default 16 MiB). */
  maxJsonBytes?: number;
  /** Weight files a manifest may list (default 64). */
  maxFiles?: number;
  /** Total size of the weight files (default 4 bytes per allowed parameter: float32 at maxParams). */
  maxWeightBytes?: number;
  /** Layers of the model (default 10,000). */
  maxLayers?: number;
}

export type ResolvedModelLimits = Required<ModelLimits>;

export function resolveModelLimits(limits: ModelLimits): ResolvedModelLimits {
  const maxParams = limits.maxParams;
  if (!(Number.isSafeInteger(maxParams) && maxParams > 0)) throw new RangeError(`maxParams must be a positive integer, got ${maxParams}`);
  return {
    maxParams,
    maxJsonBytes: limits.maxJsonBytes ?? 16 * 2 ** 20,
    maxFiles: limits.maxFiles ?? 64,
    maxWeightBytes: limits.maxWeightBytes ?? 4 * maxParams,
    maxLayers: limits.maxLayers ?? 10_000,
  };
}
