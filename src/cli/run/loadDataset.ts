// Reads a dataset from disk for `qat run` (the CLI is the composition root: the parsers in src/data
// never touch the file system). The format follows the path: a folder of IDX files, .csv/.tsv,
// .jsonl, or .npz.
import { createReadStream } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Dataset } from '../../core/train/dataset.js';
import type { Task } from '../../core/train/task.js';
import {
  applyStandardization,
  type CsvResult,
  fitStandardization,
  type ParsedDataset,
  parseCsv,
  parseIdxSet,
  parseJsonl,
  parseNpzDataset,
  type Standardization,
  splitDataset,
} from '../../data/index.js';
import { ValidationError } from '../../errors/index.js';

export interface DataOptions {
  data: string;
  testData?: string;
  labelColumn?: string;
  skipRows?: number;
  task?: Task;
  testFraction: number;
  seed: number;
}

export interface LoadedData {
  train: Dataset;
  test: Dataset;
  task: Task;
  classes: number;
  classNames?: string[];
  /** How the test split came about, for the report. */
  testSource: 'given' | 'split';
  format: string;
  /** Tabular features are standardised with training statistics (saved in the report). */
  standardization?: Standardization;
}

/** Tabular samples (one feature vector each) get train-split standardisation; images are already scaled. */
function standardized(d: LoadedData): LoadedData {
  if (d.train.sampleShape.length !== 1) return d;
  const s = fitStandardization(d.train);
  return { ...d, train: applyStandardization(d.train, s), test: applyStandardization(d.test, s), standardization: s };
}

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

async function parseFile(file: string, o: DataOptions, schema?: CsvResult['schema']): Promise<ParsedDataset & { schema?: CsvResult['schema']; format: string }> {
  const ext = path.extname(file).toLowerCase();
  const name = path.basename(file);
  if (ext === '.csv' || ext === '.tsv' || ext === '.txt') {
    const labelColumn = o.labelColumn === undefined ? undefined : /^-?\d+$/.test(o.labelColumn) ? Number(o.labelColumn) : o.labelColumn;
    const r = await parseCsv(createReadStream(file), {
      name,
      ...(labelColumn !== undefined ? { labelColumn } : {}),
      ...(o.skipRows !== undefined ? { skipRows: o.skipRows } : {}),
      ...(o.task ? { task: o.task } : {}),
      ...(schema ? { schema } : {}),
    });
    return { ...r, format: ext === '.tsv' ? 'tsv' : 'csv' };
  }
  if (ext === '.jsonl' || ext === '.ndjson') return { ...(await parseJsonl(createReadStream(file), { name, ...(o.task ? { task: o.task } : {}) })), format: 'jsonl' };
  if (ext === '.npz') return { ...parseNpzDataset(await readFile(file), { name, ...(o.task ? { task: o.task } : {}) }), format: 'npz' };
  throw new ValidationError([{ field: 'data', reason: `${name}: unknown format '${ext || '(none)'}' (use a folder of IDX files, .csv, .tsv, .jsonl or .npz)` }]);
}

const classCount = (d: Dataset, task: Task) => (task === 'classification' ? Math.max(...(d.y as Int32Array)) + 1 : 1);

export async function loadDataset(o: DataOptions): Promise<LoadedData> {
  const info = await stat(o.data).catch(() => null);
  if (!info) throw new ValidationError([{ field: 'data', reason: `${o.data} does not exist` }]);
  if (info.isDirectory()) {
    const { train, test } = parseIdxSet(await filesUnder(o.data));
    const classes = Math.max(classCount(train.dataset, 'classification'), classCount(test.dataset, 'classification'));
    return { train: train.dataset, test: test.dataset, task: 'classification', classes, testSource: 'given', format: 'idx' };
  }
  const parsed = await parseFile(o.data, o);
  if (o.testData) {
    const test = await parseFile(o.testData, o, parsed.schema);
    const classes = Math.max(classCount(parsed.dataset, parsed.task), classCount(test.dataset, parsed.task));
    return standardized({ train: parsed.dataset, test: test.dataset, task: parsed.task, classes, classNames: parsed.classNames, testSource: 'given', format: parsed.format });
  }
  const { train, test } = splitDataset(parsed.dataset, parsed.task, { testFraction: o.testFraction, seed: o.seed });
  return standardized({ train, test, task: parsed.task, classes: classCount(parsed.dataset, parsed.task), classNames: parsed.classNames, testSource: 'split', format: parsed.format });
}
