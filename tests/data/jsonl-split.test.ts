import { describe, expect, it } from 'vitest';
import { DatasetError, parseCsv, parseJsonl, shardIndices, splitDataset, stratifiedSplit, type JsonlOptions } from '../../src/data/index.js';
import { readSklearn, stratifiedSplit as supportSplit } from '../support/datasets.js';

async function failure(text: string, opts: JsonlOptions = {}): Promise<DatasetError> {
  try {
    await parseJsonl(text, opts);
  } catch (e) {
    expect(e).toBeInstanceOf(DatasetError);
    return e as DatasetError;
  }
  throw new Error('expected a DatasetError');
}

describe('parseJsonl', () => {
  const iris = readSklearn('iris');
  const lines = iris.x.map((x, i) => JSON.stringify({ x, y: iris.y[i] })).join('\n');

  it('real iris rows: integer labels, classification', async () => {
    const r = await parseJsonl(lines);
    expect(r.task).toBe('classification');
    expect(r.dataset.sampleShape).toEqual([4]);
    expect(Array.from(r.dataset.y)).toEqual(iris.y);
    expect(Array.from(r.dataset.x)).toEqual(Array.from(Float32Array.from(iris.x.flat())));
    // same dataset as the CSV parser gives for the same file
    const csv = await parseCsv((await import('node:fs')).readFileSync(new URL('../fixtures/sklearn/iris.csv', import.meta.url)), { skipRows: 1 });
    expect(r.dataset).toEqual(csv.dataset);
  });

  it('string labels, nested x (image shape), target arrays (regression), CRLF and blank lines', async () => {
    const s = await parseJsonl('{"x":[[1,2],[3,4]],"y":"cat"}\r\n\n{"x":[[5,6],[7,8]],"y":"bird"}\n');
    expect(s.dataset.sampleShape).toEqual([2, 2]);
    expect(s.classNames).toEqual(['bird', 'cat']);
    expect(Array.from(s.dataset.y)).toEqual([1, 0]);
    const t = await parseJsonl('{"x":[1],"y":[0.5,1]}\n{"x":[2],"y":[1.5,2]}');
    expect(t.task).toBe('regression');
    expect(Array.from(t.dataset.y)).toEqual([0.5, 1, 1.5, 2]);
    const f = await parseJsonl('{"x":[1],"y":0.25}\n{"x":[2],"y":3}');
    expect(f.task).toBe('regression');
  });

  it('errors name the line', async () => {
    expect((await failure('{"x":[1,2],"y":0}\n{"x":[1],"y":1}')).fields[0]).toEqual({ field: 'jsonl: line 2.x', reason: 'is ragged: expected shape [2] as on the first line, found 1 values at depth 0' });
    expect((await failure('{"x":[1,2],"y":0}\n{"x":[1,2],"y":1')).fields[0]!.field).toBe('jsonl: line 2');
    expect((await failure('{"x":[1,"a"],"y":0}')).fields[0]!.reason).toBe('holds "a", not a number');
    expect((await failure('{"x":[1,1e39],"y":0}')).fields[0]!.reason).toMatch(/NaN\/Inf/);
    expect((await failure('{"x":[1],"z":0}')).fields[0]!.reason).toBe('is not an object with "x" and "y"');
    expect((await failure('\n\n')).fields[0]!.reason).toBe('is empty (no records)');
    expect((await failure('{"x":[1],"y":[1,2]}\n{"x":[1],"y":3}')).fields[0]!.reason).toMatch(/single label/);
    expect((await failure('{"x":[1],"y":"a"}\n{"x":[1],"y":"b"}', { limits: { maxClasses: 1 } })).fields[0]!.reason).toMatch(/limit of 1 classes/);
    expect((await failure('{"x":[1,2,3],"y":0}', { limits: { maxFeatures: 2 } })).fields[0]!.reason).toMatch(/limit of 2/);
  });
});

describe('splits and shards', () => {
  const labels = Int32Array.from(readSklearn('wine').y);

  it('stratifiedSplit gives the same indices as the test-support helper it replaces', () => {
    for (const seed of [0, 1, 42]) expect(stratifiedSplit(labels, 130, 48, seed)).toEqual(supportSplit(labels, 130, 48, seed));
  });

  it('splitDataset: 20% stratified, disjoint, deterministic; regression random', async () => {
    const r = await parseCsv((await import('node:fs')).readFileSync(new URL('../fixtures/sklearn/wine_data.csv', import.meta.url)), { skipRows: 1 });
    const a = splitDataset(r.dataset, 'classification', { seed: 3 });
    const b = splitDataset(r.dataset, 'classification', { seed: 3 });
    expect(a).toEqual(b);
    expect(a.test.y.length).toBe(36);
    expect(a.train.y.length).toBe(142);
    const count = (y: ArrayLike<number>, c: number) => Array.from(y).filter((v) => v === c).length;
    for (const c of [0, 1, 2]) expect(Math.abs(count(a.test.y, c) / 36 - count(labels, c) / 178)).toBeLessThan(0.03);
    const reg = splitDataset({ ...r.dataset, y: Float32Array.from(r.dataset.y) }, 'regression', { testFraction: 0.5, seed: 1 });
    expect(reg.test.y.length).toBe(89);
    expect(() => splitDataset(r.dataset, 'classification', { testFraction: 1 })).toThrow(DatasetError);
  });

  it('shardIndices: disjoint, covering, balanced per class, deterministic', () => {
    const shards = shardIndices(labels.length, 4, 7, labels);
    const all = shards.flatMap((s) => Array.from(s)).sort((x, y) => x - y);
    expect(all).toEqual(Array.from({ length: labels.length }, (_, i) => i));
    expect(Math.max(...shards.map((s) => s.length)) - Math.min(...shards.map((s) => s.length))).toBeLessThanOrEqual(1);
    for (const c of [0, 1, 2]) {
      const per = shards.map((s) => Array.from(s).filter((i) => labels[i] === c).length);
      expect(Math.max(...per) - Math.min(...per)).toBeLessThanOrEqual(1);
    }
    expect(shardIndices(labels.length, 4, 7, labels)).toEqual(shards);
    expect(() => shardIndices(3, 4, 0)).toThrow(DatasetError);
  });
});
