// Loading a builtin: read its files through the injected reader, parse them as the registry says, and
// check the result holds exactly what the registry promises (a changed or truncated file fails here,
// naming the builtin, rather than training on something else).
import type { Dataset } from '../../core/train/dataset.js';
import { DatasetError } from '../errors.js';
import { arraysToDataset } from '../ndarray.js';
import { stratifiedSplit, takeRows } from '../split.js';
import type { ParsedDataset } from '../types.js';
import { mnistFromDigitFiles } from './mnist.js';
import { type BuiltinReader, type BuiltinSpec, builtinSpec } from './registry.js';
import { parseSklearnCsv } from './sklearnCsv.js';

export interface LoadedBuiltin {
  spec: BuiltinSpec;
  task: 'classification';
  classNames: string[];
  /** The fixed split (spec.split), or the whole set for the caller to split as it splits any file. */
  data: { kind: 'split'; train: Dataset; test: Dataset } | { kind: 'whole'; dataset: Dataset };
}

const fileField = (spec: BuiltinSpec, path: string) => `builtin:${spec.name} (${path})`;

async function parse(spec: BuiltinSpec, read: BuiltinReader): Promise<ParsedDataset> {
  const src = spec.source;
  if (src.kind === 'mnist-json') {
    const files = await Promise.all(src.files.map(async (f) => ({ bytes: await read(f), field: fileField(spec, `${f.package}/${f.path}`) })));
    const { images, labels } = mnistFromDigitFiles(files);
    const n = labels.length;
    // The same preprocessing as an IDX file: uint8 [N, 28, 28, 1] / 255.
    return arraysToDataset({ dtype: 'uint8', shape: [n, ...spec.sampleShape], data: images }, { dtype: 'uint8', shape: [n], data: labels }, { task: 'classification', xName: `builtin:${spec.name}` });
  }
  const bytes = await read(src.file);
  return parseSklearnCsv(bytes, { name: fileField(spec, src.file.path), skipRows: src.skipRows, ...(src.image ? { image: src.image } : {}) });
}

function check(spec: BuiltinSpec, p: ParsedDataset): void {
  const d = p.dataset;
  const size = spec.sampleShape.reduce((a, b) => a * b, 1);
  const n = d.x.length / size;
  const classes = p.classNames?.length ?? 0;
  const got = `${n} samples of [${d.sampleShape}] in ${classes} classes`;
  const want = `${spec.samples} samples of [${spec.sampleShape}] in ${spec.classNames.length} classes`;
  if (n !== spec.samples || d.sampleShape.join() !== spec.sampleShape.join() || classes !== spec.classNames.length) {
    throw new DatasetError(`builtin:${spec.name}`, `holds ${got}, expected ${want} (its files are not the ones shipped)`);
  }
}

export async function loadBuiltin(name: string, read: BuiltinReader): Promise<LoadedBuiltin> {
  const spec = builtinSpec(name);
  const parsed = await parse(spec, read);
  check(spec, parsed);
  const base = { spec, task: spec.task, classNames: [...spec.classNames] };
  if (!spec.split) return { ...base, data: { kind: 'whole', dataset: parsed.dataset } };
  const idx = stratifiedSplit(parsed.dataset.y as Int32Array, spec.split.train, spec.split.test, spec.split.seed);
  return { ...base, data: { kind: 'split', train: takeRows(parsed.dataset, idx.train), test: takeRows(parsed.dataset, idx.test) } };
}
