// Bad dataset input, named precisely: which file/row/column/array and why. A ValidationError (so the API
// answers 400/422 and a job fails fast without retry) with the stable code INVALID_DATASET.
import { ValidationError } from '../errors/index.js';

export interface DataLocation {
  /** 1-based line of the file where the offending record starts (header included). */
  row?: number;
  /** 1-based column of the offending field. */
  column?: number;
}

export class DatasetError extends ValidationError {
  readonly row: number | undefined;
  readonly column: number | undefined;

  constructor(field: string, reason: string, location: DataLocation = {}) {
    super([{ field, reason }], undefined, 'INVALID_DATASET');
    this.row = location.row;
    this.column = location.column;
  }
}

/** Limits on what a dataset may declare, checked while parsing (before large allocations where possible). */
export interface DataLimits {
  /** Features per sample after one-hot encoding (default 1,000,000). */
  maxFeatures?: number;
  /** Classes of a classification task (default 1,000). */
  maxClasses?: number;
  /** Samples (default unlimited). */
  maxSamples?: number;
  /** Decompressed size of any one array, IDX file or archive entry in bytes (default 2 GiB). */
  maxBytes?: number;
}

export const DEFAULT_LIMITS: Required<DataLimits> = {
  maxFeatures: 1_000_000,
  maxClasses: 1_000,
  maxSamples: Number.POSITIVE_INFINITY,
  maxBytes: 2 ** 31,
};

export function resolveLimits(limits: DataLimits | undefined): Required<DataLimits> {
  return { ...DEFAULT_LIMITS, ...(limits ?? {}) };
}

/** "row 12, column 3 (petal_width)" — the field name of a cell. */
export function cellField(row: number, column: number, name?: string): string {
  return `row ${row}, column ${column}${name !== undefined && name !== '' ? ` (${name})` : ''}`;
}
