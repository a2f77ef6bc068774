// CSV/TSV datasets: header detected (or given), a label column by name or index, numeric features as
// they are and categorical ones one-hot encoded with their vocabulary, classification or regression
// inferred (or given). The returned schema is the saved preprocessing: parsing a test file with it codes
// columns, categories and classes exactly as in the training file.
import type { Dataset } from '../core/train/dataset.js';
import type { Task } from '../core/train/task.js';
import { CsvTokenizer } from './csvTokenizer.js';
import { DatasetError, cellField, resolveLimits, type DataLimits } from './errors.js';
import { Growable } from './growable.js';
import { LabelCollector } from './labels.js';
import { isNumeric, parseDecimal } from './numbers.js';
import { textChunks, type DataSource } from './source.js';
import type { ParsedDataset } from './types.js';

export type FeatureSpec =
  | { column: number; name: string; kind: 'numeric' }
  | { column: number; name: string; kind: 'categorical'; categories: string[] };

/** Everything needed to parse another file (a test set) the same way; plain JSON, save it with the dataset. */
export interface TabularSchema {
  delimiter: string;
  /** Records skipped before the header (or the first data row). */
  skipRows: number;
  header: boolean;
  /** Names of all columns (the header, or "column 1", "column 2", … without one). */
  columns: string[];
  /** 0-based index of the label column in `columns`. */
  labelColumn: number;
  /** The features in the order of x; a categorical column spans `categories.length` one-hot values. */
  features: FeatureSpec[];
  task: Task;
  classNames?: string[];
}

export interface CsvOptions {
  /** Default: detected from the first line among comma, tab, semicolon and pipe. */
  delimiter?: string;
  /** Records to skip before the header or data, e.g. 1 for scikit-learn's CSVs whose first line is "samples,features,class names…". */
  skipRows?: number;
  /** Default: detected (a column whose first value is not a number but whose second is). */
  header?: boolean;
  /** Header name, or 0-based index (negative counts from the end); a string of digits not in the header is an index. Default: the last column. */
  labelColumn?: string | number;
  /** Columns to one-hot encode (names or 0-based indices). By default a column whose first value is not a number. */
  categorical?: (string | number)[];
  task?: Task;
  /** A saved class vocabulary (see LabelOptions). */
  classNames?: string[];
  /** A saved schema: parse exactly as the file it came from (overrides the other options). */
  schema?: TabularSchema;
  limits?: DataLimits;
  /** Name of the input in error fields (default "csv"). */
  name?: string;
}

export interface CsvResult extends ParsedDataset {
  schema: TabularSchema;
}

const CANDIDATE_DELIMITERS = [',', '\t', ';', '|'];

/** The delimiter that occurs most on the first line outside quotes (comma when none does). */
export function detectDelimiter(firstLine: string): string {
  const counts = new Map(CANDIDATE_DELIMITERS.map((d) => [d, 0]));
  let quoted = false;
  for (const ch of firstLine) {
    if (ch === '"') quoted = !quoted;
    else if (!quoted && counts.has(ch)) counts.set(ch, counts.get(ch)! + 1);
  }
  let best = ',';
  for (const d of CANDIDATE_DELIMITERS) if (counts.get(d)! > counts.get(best)!) best = d;
  return best;
}

interface Column {
  index: number;
  name: string;
  kind: 'numeric' | 'categorical';
  /** numeric: position among the numeric values of a row. */
  slot: number;
  vocab?: Map<string, number>;
  /** categorical: a saved vocabulary (unknown values are errors). */
  fixed?: boolean;
  codes?: Growable<Int32Array>;
}

export async function parseCsv(source: DataSource, options: CsvOptions = {}): Promise<CsvResult> {
  const schema = options.schema;
  const limits = resolveLimits(options.limits);
  const file = options.name ?? 'csv';
  let delimiter = schema?.delimiter ?? options.delimiter;
  let tokenizer: CsvTokenizer | undefined;
  let pending: { fields: string[]; line: number }[] = [];
  let parser: RowParser | undefined;
  const skipRows = schema?.skipRows ?? options.skipRows ?? 0;
  let skipped = 0;

  const onRecord = (fields: string[], line: number) => {
    if (skipped < skipRows) {
      skipped++;
      return;
    }
    if (parser) return parser.row(fields, line);
    pending.push({ fields, line });
    if (pending.length === 2) {
      parser = new RowParser(pending, options, limits, file);
      pending = [];
    }
  };

  let head = '';
  for await (const text of textChunks(source, file)) {
    if (!tokenizer) {
      // Wait for the first line to pick the delimiter.
      head += text;
      const line = firstLines(head, skipRows + 1);
      if (delimiter === undefined && line === undefined) continue;
      delimiter ??= detectDelimiter(line!);
      tokenizer = new CsvTokenizer(delimiter, onRecord, file);
      tokenizer.push(head);
      head = '';
      continue;
    }
    tokenizer.push(text);
  }
  if (!tokenizer) {
    delimiter ??= detectDelimiter(head.split(/\r\n|\r|\n/)[skipRows] ?? '');
    tokenizer = new CsvTokenizer(delimiter, onRecord, file);
    tokenizer.push(head);
  }
  tokenizer.end();
  if (!parser) {
    if (pending.length === 0) throw new DatasetError(file, 'is empty (no records)');
    parser = new RowParser(pending, options, limits, file);
  }
  return parser.finish(delimiter!, skipRows);
}

/** Line `k - 1` of the text (the delimiter is picked from the first line after the skipped ones), once complete. */
function firstLines(text: string, k: number): string | undefined {
  const lines = text.split(/\r\n|\r|\n/, k + 1);
  return lines.length > k ? lines[k - 1] : undefined;
}

class RowParser {
  private readonly header: boolean;
  private readonly names: string[];
  private readonly width: number;
  private readonly labelIndex: number;
  private readonly columns: Column[];
  private readonly numericCount: number;
  private readonly numeric: Growable<Float32Array>;
  private readonly labels: LabelCollector;
  private categoricalTotal = 0;
  private rows = 0;

  constructor(
    first: { fields: string[]; line: number }[],
    private readonly opts: CsvOptions,
    private readonly limits: Required<DataLimits>,
    private readonly file: string,
  ) {
    const schema = opts.schema;
    const r0 = first[0]!.fields;
    const r1 = first[1]?.fields;
    this.width = r0.length;
    const labelByName = typeof opts.labelColumn === 'string' && !/^-?\d+$/.test(opts.labelColumn);
    this.header = schema?.header ?? opts.header ?? (labelByName || (r1 !== undefined && r0.some((v, j) => !isNumeric(v) && r1[j] !== undefined && isNumeric(r1[j]!))));
    this.names = this.header ? r0.map((s) => s.trim()) : r0.map((_, j) => `column ${j + 1}`);
    if (schema && schema.columns.length !== this.width) {
      throw new DatasetError(this.file, `has ${this.width} columns, the schema ${schema.columns.length} (${schema.columns.join(', ')})`, { row: first[0]!.line });
    }
    if (this.width < 2) throw new DatasetError(this.file, `has ${this.width} column: a dataset needs at least one feature and a label`, { row: first[0]!.line });
    this.labelIndex = schema?.labelColumn ?? this.resolveColumn(opts.labelColumn ?? -1, 'labelColumn');
    if (this.width - 1 > limits.maxFeatures) {
      throw new DatasetError(this.file, `has ${this.width - 1} feature columns, more than the limit of ${limits.maxFeatures}`);
    }
    const firstData = this.header ? r1 : r0;
    const forced = new Set((opts.categorical ?? []).map((c) => this.resolveColumn(c, 'categorical')));
    const saved = new Map(schema?.features.map((f) => [f.column, f]));
    this.columns = [];
    let slot = 0;
    for (let j = 0; j < this.width; j++) {
      if (j === this.labelIndex) continue;
      const spec = saved.get(j);
      const categorical = schema ? spec?.kind === 'categorical' : forced.has(j) || (firstData !== undefined && !isNumeric(firstData[j]!));
      if (categorical) {
        const cats = spec?.kind === 'categorical' ? spec.categories : [];
        this.columns.push({ index: j, name: this.names[j]!, kind: 'categorical', slot: -1, vocab: new Map(cats.map((c, k) => [c, k])), fixed: spec !== undefined, codes: new Growable(Int32Array) });
        this.categoricalTotal += cats.length;
      } else {
        this.columns.push({ index: j, name: this.names[j]!, kind: 'numeric', slot: slot++ });
      }
    }
    this.numericCount = slot;
    this.numeric = new Growable(Float32Array, Math.max(1024, slot * 256));
    const labelName = this.names[this.labelIndex]!;
    this.labels = new LabelCollector(
      (row) => `${this.file}: ${cellField(row, this.labelIndex + 1, labelName)}`,
      { task: schema?.task ?? opts.task, classNames: schema?.classNames ?? opts.classNames },
      limits.maxClasses,
    );
    for (const [k, r] of first.entries()) if (k > 0 || !this.header) this.row(r.fields, r.line);
  }

  private resolveColumn(c: string | number, option: string): number {
    if (typeof c === 'string') {
      const byName = this.header ? this.names.indexOf(c.trim()) : -1;
      if (byName >= 0) return byName;
      if (!/^-?\d+$/.test(c.trim())) {
        const known = this.header ? `the columns are ${this.names.map((n) => JSON.stringify(n)).join(', ')}` : 'the file has no header row';
        throw new DatasetError(option, `column ${JSON.stringify(c)} does not exist: ${known}`);
      }
      c = Number(c.trim());
    }
    const j = c < 0 ? this.width + c : c;
    if (!Number.isInteger(c) || j < 0 || j >= this.width) {
      throw new DatasetError(option, `column index ${c} does not exist: the file has ${this.width} columns (0-based indices 0..${this.width - 1}, or negative from the end)`);
    }
    return j;
  }

  row(fields: string[], line: number): void {
    if (fields.length !== this.width) {
      throw new DatasetError(
        `${this.file}: row ${line}`,
        `has ${fields.length} fields, expected ${this.width} (as the ${this.header ? 'header' : 'first row'})`,
        { row: line },
      );
    }
    if (++this.rows > this.limits.maxSamples) throw new DatasetError(this.file, `has more than the limit of ${this.limits.maxSamples} samples`, { row: line });
    this.numeric.reserve(this.numericCount);
    for (const col of this.columns) {
      const text = fields[col.index]!;
      if (col.kind === 'numeric') {
        const v = parseDecimal(text);
        if (v === undefined || !Number.isFinite(Math.fround(v))) {
          const why =
            v === undefined
              ? text.trim() === ''
                ? 'is empty (missing values are not supported)'
                : `${JSON.stringify(text)} is not a number`
              : `${JSON.stringify(text)} is ${Number.isNaN(v) ? 'NaN' : 'infinite (or beyond float32)'}: NaN/Inf are not allowed in features`;
          throw new DatasetError(`${this.file}: ${cellField(line, col.index + 1, col.name)}`, why, { row: line, column: col.index + 1 });
        }
        this.numeric.push(v);
      } else {
        const key = text.trim();
        let code = col.vocab!.get(key);
        if (code === undefined) {
          if (col.fixed) {
            throw new DatasetError(`${this.file}: ${cellField(line, col.index + 1, col.name)}`, `category ${JSON.stringify(key)} is not in the saved vocabulary of this column`, {
              row: line,
              column: col.index + 1,
            });
          }
          code = col.vocab!.size;
          col.vocab!.set(key, code);
          if (this.numericCount + ++this.categoricalTotal > this.limits.maxFeatures) {
            throw new DatasetError(
              `${this.file}: ${cellField(line, col.index + 1, col.name)}`,
              `one-hot encoding needs more than the limit of ${this.limits.maxFeatures} features`,
              { row: line, column: col.index + 1 },
            );
          }
        }
        col.codes!.push(code);
      }
    }
    this.labels.add(fields[this.labelIndex]!, line);
  }

  finish(delimiter: string, skipRows: number): CsvResult {
    const n = this.rows;
    if (n === 0) throw new DatasetError(this.file, 'has a header but no data rows');
    const labels = this.labels.finish();
    // Categories in sorted order, so the coding does not depend on row order.
    const features: FeatureSpec[] = this.columns.map((c) => {
      if (c.kind === 'numeric') return { column: c.index, name: c.name, kind: 'numeric' };
      const categories = c.fixed ? [...c.vocab!.keys()] : [...c.vocab!.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      return { column: c.index, name: c.name, kind: 'categorical', categories };
    });
    const numeric = this.numeric.take();
    let x: Float32Array;
    let d = this.numericCount;
    if (this.columns.every((c) => c.kind === 'numeric')) {
      x = numeric;
    } else {
      d = features.reduce((a, f) => a + (f.kind === 'numeric' ? 1 : f.categories.length), 0);
      x = new Float32Array(n * d);
      let offset = 0;
      this.columns.forEach((c, k) => {
        const f = features[k]!;
        if (f.kind === 'numeric') {
          for (let i = 0; i < n; i++) x[i * d + offset] = numeric[i * this.numericCount + c.slot]!;
          offset += 1;
        } else {
          const remap = new Int32Array(c.vocab!.size);
          f.categories.forEach((cat, k2) => (remap[c.vocab!.get(cat)!] = k2));
          const codes = c.codes!.take();
          for (let i = 0; i < n; i++) x[i * d + offset + remap[codes[i]!]!] = 1;
          offset += f.categories.length;
        }
      });
    }
    const dataset: Dataset = { x, sampleShape: [d], y: labels.y };
    const schema: TabularSchema = {
      delimiter,
      skipRows,
      header: this.header,
      columns: this.names,
      labelColumn: this.labelIndex,
      features,
      task: labels.task,
      ...(labels.classNames ? { classNames: labels.classNames } : {}),
    };
    return { dataset, task: labels.task, ...(labels.classNames ? { classNames: labels.classNames } : {}), schema };
  }
}
