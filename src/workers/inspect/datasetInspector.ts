// Reads an uploaded dataset from the blob store with the parsers `qat run` uses (src/data; the CLI's
// src/cli/run/loadDataset.ts does the same from local files): the four IDX files (as parts or in an
// archive), one CSV/TSV/JSON Lines/NPZ file, or a .zip/.tar/.tar.gz of one. Text formats are streamed
// from the store; binary ones need their bytes at once. `loadStoredDataset` is what a job worker calls;
// `inspectStoredDataset` is the upload's validation and summary.
//
// Imports the parsers module by module (not src/data/index.ts), so inspecting a dataset never loads TF.js.
import type { Dataset } from '../../core/train/dataset.js';
import type { Task } from '../../core/train/task.js';
import { datasetInArchive, formatOf, type TabularFormat } from '../../data/archive/pick.js';
import { type ArchiveKind, archiveKind, readArchive } from '../../data/archive/readArchive.js';
import type { ArchiveLimits } from '../../data/archive/limits.js';
import { type CsvResult, parseCsv } from '../../data/csv.js';
import { type DataLimits, DatasetError } from '../../data/errors.js';
import { IDX_FILES, parseIdxSet } from '../../data/idx.js';
import { parseJsonl } from '../../data/jsonl.js';
import { arraysToDataset } from '../../data/ndarray.js';
import { parseNpz } from '../../data/npz.js';
import type { DatasetParseOptions, DatasetSummary, StoredFileRef } from '../../services/datasets.js';
import type { BlobStore } from '../../storage/blobStore.js';

export interface DatasetReadLimits {
  archive?: ArchiveLimits;
  data?: DataLimits;
}

/** A stored dataset as arrays, before any split: `test` only when the upload brought one (IDX t10k files). */
export interface LoadedUpload {
  train: Dataset;
  test?: Dataset;
  task: Task;
  /** Classification: largest label + 1 over train and test; regression: 1. */
  classes: number;
  classNames?: string[];
  /** e.g. "csv", "npz", "idx", "idx in tar.gz", "csv in zip". */
  format: string;
  /** How raw values became x (e.g. "uint8 / 255"), when the format scales them. */
  scale?: string;
  /** A CSV/TSV's column schema (parse a later test file with it). */
  schema?: CsvResult['schema'];
}

const ARCHIVE = /\.(zip|tar|tgz|tar\.gz)$/i;
const IDX_LEAVES = new Set(Object.values(IDX_FILES).flatMap((base) => [base, base.replace(/-(idx\d)/, '.$1')]));
const isIdxName = (name: string) => IDX_LEAVES.has(name.split('/').pop()!.replace(/\.gz$/i, ''));

type FileFormat = TabularFormat | 'archive';

/** The format a file name says, as `qat run` reads it (.txt is CSV). */
function formatFromName(name: string): FileFormat | undefined {
  if (ARCHIVE.test(name)) return 'archive';
  if (/\.txt$/i.test(name)) return 'csv';
  return formatOf(name);
}

/** label_column and skip_rows are CSV/TSV options; a regression task cannot be an IDX set. */
function checkOptions(o: DatasetParseOptions, format: TabularFormat | 'idx'): void {
  const csv = format === 'csv' || format === 'tsv';
  if (!csv && o.labelColumn !== undefined) throw new DatasetError('label_column', `does not apply to ${format} data (CSV/TSV only)`);
  if (!csv && o.skipRows !== undefined) throw new DatasetError('skip_rows', `does not apply to ${format} data (CSV/TSV only)`);
  if (format === 'idx' && o.task === 'regression') throw new DatasetError('task', 'an IDX set is a classification dataset (labels are class indices)');
}

function classCount(d: Dataset, task: Task): number {
  if (task !== 'classification') return 1;
  let max = -1;
  for (const v of d.y) if (v > max) max = v;
  return max + 1;
}

function loadIdx(files: Map<string, Uint8Array>, o: DatasetParseOptions, format: string, limits: DatasetReadLimits): LoadedUpload {
  checkOptions(o, 'idx');
  const { train, test } = parseIdxSet(files, limits.data ? { limits: limits.data } : {});
  files.clear();
  const classes = Math.max(classCount(train.dataset, 'classification'), classCount(test.dataset, 'classification'));
  return { train: train.dataset, test: test.dataset, task: 'classification', classes, format, scale: 'uint8 / 255' };
}

type Source = () => Promise<AsyncIterable<Uint8Array> | Uint8Array>;

async function loadFile(name: string, format: TabularFormat, source: Source, o: DatasetParseOptions, where: string, limits: DatasetReadLimits): Promise<LoadedUpload> {
  checkOptions(o, format);
  const task = o.task ? { task: o.task } : {};
  const lim = limits.data ? { limits: limits.data } : {};
  const fmt = `${format}${where}`;
  if (format === 'csv' || format === 'tsv') {
    const labelColumn = o.labelColumn === undefined ? undefined : /^-?\d+$/.test(o.labelColumn) ? Number(o.labelColumn) : o.labelColumn;
    const r = await parseCsv(await source(), {
      name,
      ...(labelColumn !== undefined ? { labelColumn } : {}),
      ...(o.skipRows !== undefined ? { skipRows: o.skipRows } : {}),
      ...task,
      ...lim,
    });
    return { train: r.dataset, task: r.task, classes: classCount(r.dataset, r.task), ...(r.classNames ? { classNames: r.classNames } : {}), format: fmt, schema: r.schema };
  }
  if (format === 'jsonl') {
    const r = await parseJsonl(await source(), { name, ...task, ...lim });
    return { train: r.dataset, task: r.task, classes: classCount(r.dataset, r.task), ...(r.classNames ? { classNames: r.classNames } : {}), format: fmt, scale: 'none' };
  }
  const bytes = await source();
  const arrays = parseNpz(bytes instanceof Uint8Array ? bytes : await collect(bytes), { name, ...lim });
  const x = arrays.get('x');
  const y = arrays.get('y');
  const have = [...arrays.keys()].join(', ');
  if (!x) throw new DatasetError(`${name}:x`, `is missing (the archive holds ${have})`);
  if (!y) throw new DatasetError(`${name}:y`, `is missing (the archive holds ${have})`);
  const r = arraysToDataset(x, y, { ...task, ...lim, xName: `${name}:x`, yName: `${name}:y` });
  return { train: r.dataset, task: r.task, classes: classCount(r.dataset, r.task), ...(r.classNames ? { classNames: r.classNames } : {}), format: fmt, scale: x.dtype === 'uint8' ? 'uint8 / 255' : 'none' };
}

async function collect(source: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const c of source) parts.push(c);
  return Buffer.concat(parts);
}

async function kindOf(store: BlobStore, key: string): Promise<ArchiveKind> {
  const head = await collect(await store.stream(key, { start: 0, end: 3 }));
  return archiveKind(head);
}

/** Parses an upload's stored files into arrays; throws a DatasetError (422) naming the file, row, column or option at fault. */
export async function loadStoredDataset(store: BlobStore, files: StoredFileRef[], o: DatasetParseOptions, limits: DatasetReadLimits = {}): Promise<LoadedUpload> {
  if (files.length === 0) throw new DatasetError('file', 'no file was uploaded');
  if (o.format === 'idx' || files.some((f) => isIdxName(f.name))) {
    const bytes = new Map<string, Uint8Array>();
    for (const f of files) bytes.set(f.name, await store.read(f.key));
    return loadIdx(bytes, o, 'idx', limits);
  }
  if (files.length > 1) {
    throw new DatasetError('file', `${files.length} files were uploaded (${files.map((f) => f.name).join(', ')}): several files are accepted only as the four IDX files; send one file, or one archive of a dataset`);
  }
  const file = files[0]!;
  const format = o.format ?? formatFromName(file.name);
  if (format === undefined) {
    throw new DatasetError('format', `cannot tell the format of '${file.name}' from its name: name it .csv, .tsv, .txt, .jsonl, .npz, .zip, .tar, .tar.gz or .tgz, or give format (csv, tsv, jsonl, npz, idx or archive)`);
  }
  if (format !== 'archive') {
    const streamed = format !== 'npz';
    return loadFile(file.name, format, async () => (streamed ? store.stream(file.key) : store.read(file.key)), o, '', limits);
  }
  const kind = await kindOf(store, file.key);
  const entries = await readArchive(await store.stream(file.key), { name: file.name, ...(limits.archive ? { limits: limits.archive } : {}) });
  const found = datasetInArchive(entries, file.name);
  if (found.kind === 'idx') return loadIdx(found.files, o, `idx in ${kind}`, limits);
  // Handed over once, so the unpacked bytes can be freed as soon as the parser is done with them.
  let bytes: Uint8Array | undefined = found.bytes;
  entries.clear();
  const once = async () => {
    const b = bytes ?? new Uint8Array(0);
    bytes = undefined;
    return b;
  };
  return loadFile(`${file.name}:${found.name}`, found.format, once, o, ` in ${kind}`, limits);
}

/** The upload's validation: everything parsed, then summarised (the arrays are dropped). */
export async function inspectStoredDataset(store: BlobStore, files: StoredFileRef[], o: DatasetParseOptions, limits: DatasetReadLimits = {}): Promise<DatasetSummary> {
  const d = await loadStoredDataset(store, files, o, limits);
  const sampleShape = d.train.sampleShape;
  const features = sampleShape.reduce((a, b) => a * b, 1);
  const trainN = d.train.x.length / features;
  const testN = d.test ? d.test.x.length / features : null;
  const regression = d.task === 'regression';
  return {
    format: d.format,
    task: d.task,
    samples: trainN + (testN ?? 0),
    testSamples: testN,
    features,
    sampleShape,
    classes: regression ? null : d.classes,
    ...(d.classNames ? { classNames: d.classNames } : {}),
    ...(regression ? { targets: d.train.y.length / trainN } : {}),
    ...(d.scale !== undefined ? { scale: d.scale } : {}),
  };
}
