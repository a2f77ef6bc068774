// Labels as they stream in (text from CSV, numbers or strings from JSON Lines), turned at the end into
// classification codes with their vocabulary or regression targets, with the task inferred unless set.
import type { Task } from '../core/train/task.js';
import { DatasetError } from './errors.js';
import { Growable } from './growable.js';
import { parseDecimal } from './numbers.js';

/** Integer labels with at most this many distinct values are inferred to be classes (else regression). */
export const INFER_CLASSIFICATION_MAX_DISTINCT = 50;

export interface LabelOptions {
  /** Force the task; by default string labels or few distinct integers mean classification. */
  task?: Task;
  /** A saved class vocabulary (classNames of the training set): labels are coded by it, unknown ones are errors. */
  classNames?: string[];
}

export interface Labels {
  task: Task;
  /** classification: N codes in [0, classNames.length); regression: N targets. */
  y: Int32Array | Float32Array;
  /** classification: the label text of each code (save it to code a test set the same way). */
  classNames?: string[];
}

interface Seen {
  row: number;
  text: string;
}

export class LabelCollector {
  private readonly values = new Growable(Float64Array);
  private readonly codes = new Growable(Int32Array);
  private vocab: Map<string, number> | null = new Map();
  private readonly fixed: Map<string, number> | undefined;
  private firstNonNumeric: Seen | undefined;
  private firstNonInteger: Seen | undefined;
  private firstNonFinite: Seen | undefined;
  private readonly vocabCap: number;

  constructor(
    private readonly field: (row: number) => string,
    private readonly opts: LabelOptions,
    private readonly maxClasses: number,
  ) {
    if (opts.classNames) {
      if (opts.task === 'regression') throw new DatasetError('classNames', 'a class vocabulary was given for a regression task');
      this.fixed = new Map(opts.classNames.map((c, i) => [c, i]));
    }
    this.vocabCap = Math.max(maxClasses, INFER_CLASSIFICATION_MAX_DISTINCT);
  }

  get count(): number {
    return this.values.length;
  }

  add(text: string, row: number): void {
    if (this.fixed) {
      const code = this.fixed.get(text) ?? this.fixed.get(text.trim());
      if (code === undefined) {
        throw new DatasetError(this.field(row), `label ${JSON.stringify(text)} is not one of the ${this.fixed.size} training classes`, { row });
      }
      this.codes.push(code);
      this.values.push(code);
      return;
    }
    const v = parseDecimal(text);
    if (v === undefined) {
      this.firstNonNumeric ??= { row, text };
      this.values.push(Number.NaN);
    } else {
      if (!Number.isFinite(v)) this.firstNonFinite ??= { row, text };
      else if (!Number.isInteger(v)) this.firstNonInteger ??= { row, text };
      this.values.push(v);
    }
    if (this.vocab) {
      const key = text.trim();
      let code = this.vocab.get(key);
      if (code === undefined) {
        if (this.vocab.size >= this.vocabCap) {
          this.vocab = null; // too many distinct values to be classes: only regression remains possible
          this.codes.push(-1);
          return;
        }
        code = this.vocab.size;
        this.vocab.set(key, code);
      }
      this.codes.push(code);
    }
  }

  /** A JSON label: a number or a string. */
  addValue(value: number | string, row: number): void {
    this.add(typeof value === 'number' ? String(value) : value, row);
  }

  finish(): Labels {
    const n = this.values.length;
    if (this.fixed) return { task: 'classification', y: this.codes.take(), classNames: [...this.opts.classNames!] };
    const numeric = this.firstNonNumeric === undefined;
    const integer = numeric && this.firstNonInteger === undefined && this.firstNonFinite === undefined;
    let task = this.opts.task;
    if (task === undefined) {
      task = !numeric || (integer && this.vocab !== null && this.vocab.size <= INFER_CLASSIFICATION_MAX_DISTINCT) ? 'classification' : 'regression';
    }
    const values = this.values.take();
    if (task === 'regression') {
      const bad = this.firstNonNumeric ?? this.firstNonFinite;
      if (bad) {
        const why = this.firstNonNumeric ? 'is not a number (regression targets must be numeric)' : 'is not finite (NaN/Inf targets are not allowed)';
        throw new DatasetError(this.field(bad.row), `target ${JSON.stringify(bad.text)} ${why}`, { row: bad.row });
      }
      return { task, y: Float32Array.from(values) };
    }
    if (integer) {
      let min = Infinity;
      let max = -Infinity;
      for (let i = 0; i < n; i++) {
        min = Math.min(min, values[i]!);
        max = Math.max(max, values[i]!);
      }
      if (min >= 0 && max < this.maxClasses) {
        // Non-negative integers are class indices as they are: class k is label k.
        return { task, y: Int32Array.from(values), classNames: Array.from({ length: max + 1 }, (_, k) => String(k)) };
      }
      if (min >= 0) throw this.tooManyClasses(`label ${max} needs ${max + 1} classes`);
      const distinct = [...new Set(values)].sort((a, b) => a - b);
      if (distinct.length > this.maxClasses) throw this.tooManyClasses(`${distinct.length} distinct labels`);
      const index = new Map(distinct.map((v, k) => [v, k]));
      return { task, y: Int32Array.from(values, (v) => index.get(v)!), classNames: distinct.map(String) };
    }
    // String (or fractional) labels: classes are the distinct label texts in sorted order, so the coding
    // does not depend on row order.
    if (this.vocab === null || this.vocab.size > this.maxClasses) throw this.tooManyClasses(`more than ${this.maxClasses} distinct labels`);
    const names = [...this.vocab.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const remap = new Int32Array(names.length);
    names.forEach((name, k) => (remap[this.vocab!.get(name)!] = k));
    const codes = this.codes.take();
    for (let i = 0; i < n; i++) codes[i] = remap[codes[i]!]!;
    return { task, y: codes, classNames: names };
  }

  private tooManyClasses(what: string): DatasetError {
    return new DatasetError('labels', `${what}: more than the limit of ${this.maxClasses} classes`);
  }
}
