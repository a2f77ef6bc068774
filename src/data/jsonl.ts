// JSON Lines datasets: one `{"x": [...], "y": ...}` per line. x is a flat or nested number array (its
// nesting gives the sample shape); y is a class (integer or string), a target number, or a target array.
import type { Task } from '../core/train/task.js';
import { DatasetError, resolveLimits, type DataLimits } from './errors.js';
import { Growable } from './growable.js';
import { LabelCollector } from './labels.js';
import { textChunks, type DataSource } from './source.js';
import type { ParsedDataset } from './types.js';

export interface JsonlOptions {
  task?: Task;
  classNames?: string[];
  limits?: DataLimits;
  name?: string;
}

export async function parseJsonl(source: DataSource, opts: JsonlOptions = {}): Promise<ParsedDataset> {
  const file = opts.name ?? 'jsonl';
  const limits = resolveLimits(opts.limits);
  const x = new Growable(Float32Array);
  let sampleShape: number[] | undefined;
  let size = 0;
  const labels = new LabelCollector((row) => `${file}: line ${row}.y`, { task: opts.task, classNames: opts.classNames }, limits.maxClasses);
  let targets: Growable<Float32Array> | undefined;
  let targetWidth = 0;
  let n = 0;
  let lineNo = 0;

  const onLine = (raw: string) => {
    lineNo++;
    const line = raw.trim();
    if (line === '') return;
    let obj: unknown;
    try {
      obj = JSON.parse(line);
    } catch (e) {
      throw new DatasetError(`${file}: line ${lineNo}`, `is not valid JSON (${(e as Error).message})`, { row: lineNo });
    }
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj) || !('x' in obj) || !('y' in obj)) {
      throw new DatasetError(`${file}: line ${lineNo}`, 'is not an object with "x" and "y"', { row: lineNo });
    }
    const { x: xv, y: yv } = obj as { x: unknown; y: unknown };
    if (++n > limits.maxSamples) throw new DatasetError(file, `has more than the limit of ${limits.maxSamples} samples`, { row: lineNo });
    if (sampleShape === undefined) {
      sampleShape = shapeOf(xv, `${file}: line ${lineNo}.x`, lineNo);
      size = sampleShape.reduce((a, b) => a * b, 1);
      if (size === 0) throw new DatasetError(`${file}: line ${lineNo}.x`, 'is empty', { row: lineNo });
      if (size > limits.maxFeatures) throw new DatasetError(`${file}: line ${lineNo}.x`, `has ${size} features, more than the limit of ${limits.maxFeatures}`, { row: lineNo });
    }
    x.reserve(size);
    const before = x.length;
    flatten(xv, sampleShape, 0, `${file}: line ${lineNo}.x`, lineNo, x);
    if (x.length - before !== size) throw new DatasetError(`${file}: line ${lineNo}.x`, `has ${x.length - before} values, expected ${size}`, { row: lineNo });
    if (Array.isArray(yv)) {
      if (n === 1) {
        targets = new Growable(Float32Array);
        targetWidth = yv.length;
      }
      if (!targets) throw new DatasetError(`${file}: line ${lineNo}.y`, 'is an array but the first line has a single label', { row: lineNo });
      if (yv.length !== targetWidth || targetWidth === 0) throw new DatasetError(`${file}: line ${lineNo}.y`, `has ${yv.length} targets, expected ${targetWidth}`, { row: lineNo });
      for (const t of yv) {
        if (typeof t !== 'number' || !Number.isFinite(t)) throw new DatasetError(`${file}: line ${lineNo}.y`, `target ${JSON.stringify(t)} is not a finite number`, { row: lineNo });
        targets.push(t);
      }
    } else {
      if (targets) throw new DatasetError(`${file}: line ${lineNo}.y`, 'is a single label but the first line has a target array', { row: lineNo });
      if (typeof yv !== 'number' && typeof yv !== 'string') throw new DatasetError(`${file}: line ${lineNo}.y`, 'must be a number, a string or an array of numbers', { row: lineNo });
      labels.addValue(yv, lineNo);
    }
  };

  let rest = '';
  for await (const text of textChunks(source, file)) {
    const parts = (rest + text).split('\n');
    rest = parts.pop()!;
    for (const p of parts) onLine(p);
  }
  if (rest !== '') onLine(rest);
  if (n === 0) throw new DatasetError(file, 'is empty (no records)');
  const xs = x.take();
  if (targets) {
    if (opts.task === 'classification') throw new DatasetError(`${file}: y`, 'target arrays cannot be classification labels');
    return { dataset: { x: xs, sampleShape: sampleShape!, y: targets.take() }, task: 'regression' };
  }
  const l = labels.finish();
  return { dataset: { x: xs, sampleShape: sampleShape!, y: l.y }, task: l.task, ...(l.classNames ? { classNames: l.classNames } : {}) };
}

function shapeOf(v: unknown, field: string, row: number): number[] {
  const shape: number[] = [];
  let cur = v;
  while (Array.isArray(cur)) {
    shape.push(cur.length);
    cur = cur[0];
  }
  if (shape.length === 0) throw new DatasetError(field, 'must be an array of numbers', { row });
  return shape;
}

function flatten(v: unknown, shape: number[], depth: number, field: string, row: number, out: Growable<Float32Array>): void {
  if (depth === shape.length) {
    if (typeof v !== 'number') throw new DatasetError(field, `holds ${JSON.stringify(v)}, not a number`, { row });
    if (!Number.isFinite(Math.fround(v))) throw new DatasetError(field, `holds ${v}: NaN/Inf are not allowed in features`, { row });
    out.push(v);
    return;
  }
  if (!Array.isArray(v) || v.length !== shape[depth]) {
    throw new DatasetError(field, `is ragged: expected shape [${shape.join(', ')}] as on the first line, found ${Array.isArray(v) ? `${v.length} values` : JSON.stringify(v)} at depth ${depth}`, { row });
  }
  for (const e of v) flatten(e, shape, depth + 1, field, row, out);
}
