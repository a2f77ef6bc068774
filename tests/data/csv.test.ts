import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DatasetError, parseCsv, type CsvOptions } from '../../src/data/index.js';
import { ValidationError } from '../../src/errors/index.js';
import { SKLEARN_DIR, readSklearn } from '../support/datasets.js';

const sk = (f: string) => readFileSync(path.join(SKLEARN_DIR, f));

async function failure(text: string | Uint8Array, opts: CsvOptions = {}): Promise<DatasetError> {
  try {
    await parseCsv(text, opts);
  } catch (e) {
    expect(e).toBeInstanceOf(DatasetError);
    expect(e).toBeInstanceOf(ValidationError);
    expect((e as DatasetError).code).toBe('INVALID_DATASET');
    return e as DatasetError;
  }
  throw new Error('expected a DatasetError');
}

/** Split bytes into chunks of `size` bytes (cuts through fields, quotes, CRLF and UTF-8 sequences). */
async function* chunked(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

describe('parseCsv on the real sklearn files', () => {
  it.each([
    ['iris.csv', 'iris', 4, 3],
    ['wine_data.csv', 'wine', 13, 3],
    ['breast_cancer.csv', 'breast_cancer', 30, 2],
    ['digits.csv', 'digits', 64, 10],
  ] as const)('%s: label = last column, integer classes', async (file, name, features, classes) => {
    // scikit-learn's first line is "samples,features,class names…", not a header: skip it
    const r = await parseCsv(sk(file), { skipRows: name === 'digits' ? 0 : 1 });
    const ref = readSklearn(name);
    expect(r.task).toBe('classification');
    expect(r.schema.header).toBe(false);
    expect(r.dataset.sampleShape).toEqual([features]);
    expect(r.classNames).toHaveLength(classes);
    expect(Array.from(r.dataset.y)).toEqual(ref.y);
    expect(Array.from(r.dataset.x)).toEqual(Array.from(Float32Array.from(ref.x.flat())));
  });

  it('streams: the same result from 7-byte chunks as from one buffer', async () => {
    const bytes = sk('wine_data.csv');
    const whole = await parseCsv(bytes, { skipRows: 1 });
    const streamed = await parseCsv(chunked(bytes, 7), { skipRows: 1 });
    expect(streamed.dataset).toEqual(whole.dataset);
    expect(streamed.schema).toEqual(whole.schema);
  });

  it('diabetes, whitespace-separated features with the target appended: regression inferred', async () => {
    const x = sk('diabetes_data_raw.csv').toString('utf8').trim().split('\n');
    const y = sk('diabetes_target.csv').toString('utf8').trim().split('\n');
    const tsv = x.map((l, i) => [...l.trim().split(/\s+/), y[i]!.trim()].join('\t')).join('\n');
    const r = await parseCsv(tsv);
    expect(r.schema.delimiter).toBe('\t');
    expect(r.schema.header).toBe(false);
    expect(r.task).toBe('regression');
    expect(r.dataset.y).toBeInstanceOf(Float32Array);
    expect(r.dataset.y[0]).toBe(151);
    expect(r.dataset.sampleShape).toEqual([10]);
    expect(r.classNames).toBeUndefined();
    // and can be forced to classification (214 distinct integer targets, within the class limit)
    const c = await parseCsv(tsv, { task: 'classification' });
    expect(c.task).toBe('classification');
  });

  it('label column by name, by index and by negative index; a continuous label is regression', async () => {
    const text = 'sepal length,sepal width,petal length,petal width,species\n' + sk('iris.csv').toString().split('\n').slice(1).join('\n');
    const byName = await parseCsv(text, { labelColumn: 'petal width' });
    expect(byName.task).toBe('regression');
    expect(byName.dataset.sampleShape).toEqual([4]);
    expect(byName.dataset.y[0]).toBeCloseTo(0.2);
    expect(byName.schema.features.map((f) => f.name)).toEqual(['sepal length', 'sepal width', 'petal length', 'species']);
    const byIndex = await parseCsv(text, { labelColumn: 3 });
    const byString = await parseCsv(text, { labelColumn: '3' });
    const byNegative = await parseCsv(text, { labelColumn: -2 });
    expect(byIndex.dataset).toEqual(byName.dataset);
    expect(byString.dataset).toEqual(byName.dataset);
    expect(byNegative.dataset).toEqual(byName.dataset);
    expect((await parseCsv(text, { labelColumn: 'petal width', task: 'classification' })).classNames).toContain('0.2');
  });
});

describe('parseCsv: categorical features, string labels, saved vocabularies', () => {
  const train = 'size,colour,shape,label\n1.5,red,round,cat\n2,blue,square,dog\n3,red,"flat, wide",cat\n4,green,round,bird\n';

  it('one-hot encodes non-numeric columns with sorted vocabularies and codes string labels', async () => {
    const r = await parseCsv(train);
    expect(r.task).toBe('classification');
    expect(r.classNames).toEqual(['bird', 'cat', 'dog']);
    expect(Array.from(r.dataset.y)).toEqual([1, 2, 1, 0]);
    expect(r.schema.features).toEqual([
      { column: 0, name: 'size', kind: 'numeric' },
      { column: 1, name: 'colour', kind: 'categorical', categories: ['blue', 'green', 'red'] },
      { column: 2, name: 'shape', kind: 'categorical', categories: ['flat, wide', 'round', 'square'] },
    ]);
    expect(r.dataset.sampleShape).toEqual([7]);
    expect(Array.from(r.dataset.x.subarray(0, 7))).toEqual([1.5, 0, 0, 1, 0, 1, 0]);
    expect(Array.from(r.dataset.x.subarray(14, 21))).toEqual([3, 0, 0, 1, 1, 0, 0]);
  });

  it('a numeric-looking column can be forced categorical', async () => {
    const r = await parseCsv('zip,y\n75001,a\n10115,b\n75001,b\n', { categorical: ['zip'] });
    expect(r.schema.features[0]).toEqual({ column: 0, name: 'zip', kind: 'categorical', categories: ['10115', '75001'] });
    expect(Array.from(r.dataset.x)).toEqual([0, 1, 1, 0, 0, 1]);
  });

  it('round trip: the saved schema (through JSON) codes a test file exactly like the training file', async () => {
    const r = await parseCsv(train);
    const schema = JSON.parse(JSON.stringify(r.schema));
    const test = 'size,colour,shape,label\n5,green,square,dog\n1.5,red,round,cat\n';
    const t = await parseCsv(test, { schema });
    expect(t.dataset.sampleShape).toEqual([7]);
    expect(Array.from(t.dataset.x.subarray(0, 7))).toEqual([5, 0, 1, 0, 0, 0, 1]);
    expect(Array.from(t.dataset.x.subarray(7))).toEqual(Array.from(r.dataset.x.subarray(0, 7)));
    expect(Array.from(t.dataset.y)).toEqual([2, 1]);
    expect(t.schema).toEqual(r.schema);
    // a test set missing some classes keeps the training coding
    const one = await parseCsv('size,colour,shape,label\n2,blue,round,dog\n', { schema });
    expect(Array.from(one.dataset.y)).toEqual([2]);
  });

  it('a category or class unknown to the saved schema is an error naming row and column', async () => {
    const { schema } = await parseCsv(train);
    let e = await failure('size,colour,shape,label\n5,green,round,cat\n6,purple,round,cat\n', { schema });
    expect(e.fields[0]).toEqual({ field: 'csv: row 3, column 2 (colour)', reason: 'category "purple" is not in the saved vocabulary of this column' });
    e = await failure('size,colour,shape,label\n5,green,round,fish\n', { schema });
    expect(e.fields[0]!.field).toBe('csv: row 2, column 4 (label)');
    expect(e.fields[0]!.reason).toMatch(/"fish" is not one of the 3 training classes/);
    e = await failure('a,b\n1,2\n', { schema });
    expect(e.fields[0]!.reason).toMatch(/has 2 columns, the schema 4/);
  });

  it('negative integer labels are mapped through a sorted vocabulary', async () => {
    const r = await parseCsv('x,y\n0.5,-1\n0.1,1\n0.2,-1\n');
    expect(r.classNames).toEqual(['-1', '1']);
    expect(Array.from(r.dataset.y)).toEqual([0, 1, 0]);
  });
});

describe('parseCsv: RFC 4180 quoting and line endings', () => {
  it('quoted delimiters, doubled quotes, line breaks inside quotes, CRLF, a BOM, blank lines, no final newline', async () => {
    const text = '\ufeffname,"note ""a""",y\r\n"x,1",1.5,0\r\n\r\n"two\r\nlines",2,1\r\nplain,"3",0';
    const r = await parseCsv(new TextEncoder().encode(text), { categorical: [0] });
    expect(r.schema.columns).toEqual(['name', 'note "a"', 'y']);
    expect(r.schema.features[0]).toEqual({ column: 0, name: 'name', kind: 'categorical', categories: ['plain', 'two\r\nlines', 'x,1'] });
    expect(Array.from(r.dataset.y)).toEqual([0, 1, 0]);
    for (const size of [1, 2, 3, 5]) {
      const s = await parseCsv(chunked(new TextEncoder().encode(text), size), { categorical: [0] });
      expect(s.dataset).toEqual(r.dataset);
    }
  });

  it('an empty last field and semicolon/pipe delimiters', async () => {
    const r = await parseCsv('a;b;c\n1;2;x\n3;4;\n', { categorical: ['c'], labelColumn: 0 });
    expect(r.schema.delimiter).toBe(';');
    expect(r.schema.features[1]).toMatchObject({ categories: ['', 'x'] });
    expect((await parseCsv('a|b\n1|2\n')).schema.delimiter).toBe('|');
  });

  it('header can be overridden both ways', async () => {
    expect((await parseCsv('1,2\n3,4\n', { header: true })).dataset.x.length).toBe(1);
    const r = await parseCsv('a,b\n1,2\n', { header: false });
    expect(r.schema.columns).toEqual(['column 1', 'column 2']);
    expect(r.classNames).toEqual(['2', 'b']);
    expect(r.schema.features[0]).toMatchObject({ kind: 'categorical', categories: ['1', 'a'] });
    // without the override the header is detected: a column whose first value is text and second a number
    expect((await parseCsv('a,b\n1,2\n')).schema.header).toBe(true);
  });

  it('bad quoting names the line and column', async () => {
    let e = await failure('a,b\n1,x"y\n');
    expect(e.fields[0]!.field).toBe('csv: row 2, column 2');
    expect(e.row).toBe(2);
    e = await failure('a,b\n1,"x"y\n');
    expect(e.fields[0]!.reason).toMatch(/after a closing quote/);
    e = await failure('a,b\n1,2\n3,"never closed\n4,5\n');
    expect(e.fields[0]!.field).toBe('csv: row 3, column 2');
    expect(e.fields[0]!.reason).toMatch(/never closed/);
  });
});

describe('parseCsv: bad input is named precisely', () => {
  it('an unparsable value: row (line) and column', async () => {
    const e = await failure('f1,f2,y\n1,2,0\n3,abc,1\n');
    expect(e.fields).toEqual([{ field: 'csv: row 3, column 2 (f2)', reason: '"abc" is not a number' }]);
    expect([e.row, e.column]).toEqual([3, 2]);
    expect(e.message).toBe('csv: row 3, column 2 (f2): "abc" is not a number');
  });

  it('the line counts records that span lines', async () => {
    const e = await failure('f1,f2,y\n1,"2\n",0\n3,x,1\n');
    expect(e.fields[0]!.field).toBe('csv: row 4, column 2 (f2)'); // the record "1,"2\n",0" spans lines 2-3
  });

  it.each([
    ['NaN', /NaN: NaN\/Inf are not allowed/],
    ['nan', /NaN/],
    ['inf', /infinite/],
    ['-Infinity', /infinite/],
    ['1e39', /beyond float32/],
    ['', /empty/],
    ['0x10', /not a number/],
  ])('feature value %j is refused', async (v, reason) => {
    const e = await failure(`a,b,y\n1,2,0\n3,${v},1\n`, { name: 'train.csv' });
    expect(e.fields[0]!.field).toBe('train.csv: row 3, column 2 (b)');
    expect(e.fields[0]!.reason).toMatch(reason);
  });

  it('ragged rows', async () => {
    const e = await failure('a,b,y\n1,2,0\n3,4\n');
    expect(e.fields[0]).toEqual({ field: 'csv: row 3', reason: 'has 2 fields, expected 3 (as the header)' });
    expect((await failure('1,2,0\n3,4,5,6\n')).fields[0]!.reason).toBe('has 4 fields, expected 3 (as the first row)');
  });

  it('empty files, header only, a single column', async () => {
    expect((await failure('')).fields[0]).toEqual({ field: 'csv', reason: 'is empty (no records)' });
    expect((await failure('\n\n\r\n')).fields[0]!.reason).toBe('is empty (no records)');
    expect((await failure('a,b,y\n', { header: true })).fields[0]!.reason).toBe('has a header but no data rows');
    expect((await failure('y\n1\n2\n')).fields[0]!.reason).toMatch(/at least one feature/);
  });

  it('a label column that does not exist', async () => {
    let e = await failure('a,b,y\n1,2,0\n', { labelColumn: 'label' });
    expect(e.fields[0]).toEqual({ field: 'labelColumn', reason: 'column "label" does not exist: the columns are "a", "b", "y"' });
    e = await failure('a,b,y\n1,2,0\n', { labelColumn: 3 });
    expect(e.fields[0]!.reason).toMatch(/column index 3 does not exist: the file has 3 columns/);
    e = await failure('a,b,y\n1,2,0\n', { labelColumn: -4 });
    expect(e.fields[0]!.field).toBe('labelColumn');
    e = await failure('1,2,0\n', { labelColumn: 'y', header: false });
    expect(e.fields[0]!.reason).toMatch(/no header row/);
  });

  it('regression targets must be numbers and finite', async () => {
    let e = await failure('a,y\n1,0.5\n2,abc\n', { task: 'regression' });
    expect(e.fields[0]).toEqual({ field: 'csv: row 3, column 2 (y)', reason: 'target "abc" is not a number (regression targets must be numeric)' });
    e = await failure('a,y\n1,0.5\n2,NaN\n', { task: 'regression' });
    expect(e.fields[0]!.reason).toMatch(/not finite/);
  });

  it('limits: features (columns and one-hot), classes, samples', async () => {
    let e = await failure('a,b,c,y\n1,2,3,0\n', { limits: { maxFeatures: 2 } });
    expect(e.fields[0]!.reason).toBe('has 3 feature columns, more than the limit of 2');
    e = await failure('a,c,y\n1,p,0\n2,q,0\n3,r,1\n', { limits: { maxFeatures: 3 } });
    expect(e.fields[0]).toEqual({ field: 'csv: row 4, column 2 (c)', reason: 'one-hot encoding needs more than the limit of 3 features' });
    e = await failure('a,y\n1,0\n2,1\n3,2\n', { limits: { maxClasses: 2 } });
    expect(e.fields[0]).toEqual({ field: 'labels', reason: 'label 2 needs 3 classes: more than the limit of 2 classes' });
    e = await failure('a,y\n1,p\n2,q\n3,r\n', { limits: { maxClasses: 2 } });
    expect(e.fields[0]!.reason).toMatch(/3 distinct labels|more than 2 distinct labels/);
    e = await failure('a,y\n1,0\n2,1\n3,2\n', { limits: { maxSamples: 2 } });
    expect(e.fields[0]!.reason).toBe('has more than the limit of 2 samples');
  });

  it('invalid UTF-8', async () => {
    const e = await failure(Uint8Array.from([0x61, 0x2c, 0x62, 0x0a, 0xff, 0x2c, 0x31, 0x0a]));
    expect(e.fields[0]!.reason).toBe('is not valid UTF-8 text');
  });
});
