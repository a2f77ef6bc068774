import { describe, expect, it } from 'vitest';
import { applyStandardization, fitStandardization } from '../../src/data/standardize.js';

describe('standardisation with training statistics', () => {
  it('fits on train only, maps train to mean 0 / std 1, applies the same to test, keeps constant features finite', () => {
    const train = { x: Float32Array.from([1, 5, 3, 5, 5, 5]), sampleShape: [2], y: Int32Array.from([0, 1, 0]) };
    const s = fitStandardization(train);
    expect(s.mean).toEqual([3, 5]);
    expect(s.std[0]).toBeCloseTo(Math.sqrt(8 / 3), 12);
    expect(s.std[1]).toBe(1); // constant feature
    const t = applyStandardization(train, s);
    expect(Array.from(t.x).filter((_, i) => i % 2 === 0).reduce((a, b) => a + b, 0)).toBeCloseTo(0, 6);
    const test = applyStandardization({ x: Float32Array.from([3, 7]), sampleShape: [2], y: Int32Array.from([1]) }, s);
    expect(Array.from(test.x)).toEqual([0, 2]);
  });

  it('gives a constant feature std 1 whatever its magnitude, and keeps a small spread on a large mean', () => {
    const n = 1000;
    const x = new Float32Array(n * 3);
    for (let i = 0; i < n; i++) x.set([0.1, 123.456, 5000 + (i % 7) * 0.01], i * 3);
    const s = fitStandardization({ x, sampleShape: [3], y: new Int32Array(n) });
    expect(s.std.slice(0, 2)).toEqual([1, 1]); // one-pass E[x²]−E[x]² gave 6e-9 and 1.9e-5 here
    expect(s.std[2]).toBeCloseTo(0.02, 3);
  });
});

