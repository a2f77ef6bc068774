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
export { stratifiedSplit, randomSplit, splitDataset, splitInPlace, takeRows, shardIndices } from './split.js';
export { applyStandardization, fitStandardization, type Standardization, standardizeInPlace } from './standardize.js';
export { augmentationFor, imageAugmentation, moveSamples, tabularAugmentation, type ImageAugmentation, type SampleMove, type TabularAugmentation } from './augment.js';
export { readArchive, archiveKind, datasetInArchive, formatOf, encodeZip, entryPath, DEFAULT_ARCHIVE_LIMITS, type ArchiveKind, type ArchiveOptions, type ArchiveLimits, type ArchiveDataset, type ByteSource, type TabularFormat, type ZipInput } from './archive/index.js';
export { BUILTINS, BUILTIN_NAMES, builtinName, builtinSpec, loadBuiltin, type BuiltinFile, type BuiltinName, type BuiltinReader, type BuiltinSource, type BuiltinSpec, type LoadedBuiltin } from './builtin/index.js';
