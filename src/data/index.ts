// Dataset parsers, splits and shards (DESIGN.md §2: imports src/core and src/errors only; no fs).
export { DatasetError, DEFAULT_LIMITS, type DataLimits, type DataLocation } from './errors.js';
export type { ParsedDataset } from './types.js';
export type { DataSource, DataChunk } from './source.js';
export { parseCsv, detectDelimiter, type CsvOptions, type CsvResult, type TabularSchema, type FeatureSpec } from './csv.js';
export { parseJsonl, type JsonlOptions } from './jsonl.js';
export { parseIdx, parseIdxPair, parseIdxSet, encodeIdx, isGzip, IDX_FILES } from './idx.js';
export { parseNpy, encodeNpy } from './npy.js';
export { parseNpz, parseNpzDataset } from './npz.js';
export { readZip, type ZipEntry, type ZipLimits } from './zip.js';
export { arraysToDataset, type NdArray, type DType } from './ndarray.js';
export { INFER_CLASSIFICATION_MAX_DISTINCT, type LabelOptions } from './labels.js';
export { stratifiedSplit, randomSplit, splitDataset, takeRows, shardIndices } from './split.js';
export { applyStandardization, fitStandardization, type Standardization } from './standardize.js';
