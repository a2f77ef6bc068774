import { describe, expect, it } from 'vitest';
import { asymmetricParams, dequantize, nudgeRange, quantize, roundHalfEven, symmetricParams } from '../../../src/core/quant/params.js';

describe('nudgeRange (TF fake-quant)', () => {
  it('nudges the zero point so 0 is on the grid', () => {
    // scale = 63.75 / 255 = 0.25; zero_point_from_min = 0 + 0.375 / 0.25 = 1.5 -> 2 (half up)
    expect(nudgeRange(-0.375, 63.375, 8)).toEqual({ qmin: 0, qmax: 255, scale: 0.25, zeroPoint: 2, nudgedMin: -0.5, nudgedMax: 63.25 });
    // float32 operands: -0.3 and 0.7 are not exact, and zero_point_from_min lands just below 76.5.
    const r = nudgeRange(-0.3, 0.7, 8);
    expect(r.zeroPoint).toBe(76);
    expect(r.scale).toBe(Math.fround((Math.fround(0.7) - Math.fround(-0.3)) / 255));
  });

  it('narrow range starts at 1', () => {
    const r = nudgeRange(-1, 1, 8, true);
    expect(r).toMatchObject({ qmin: 1, qmax: 255, zeroPoint: 128, nudgedMin: -1, nudgedMax: 1 });
  });

  it('clamps the zero point for ranges that do not contain 0', () => {
    expect(nudgeRange(1, 2, 8)).toMatchObject({ zeroPoint: 0, nudgedMin: 0 });
    expect(nudgeRange(-2, -1, 8)).toMatchObject({ zeroPoint: 255, nudgedMax: 0 });
  });

  it('collapses a degenerate range to [0, 0]', () => {
    expect(nudgeRange(0, 0, 8)).toMatchObject({ scale: 0, nudgedMin: 0, nudgedMax: 0, zeroPoint: 0 });
    expect(nudgeRange(-3, -3, 8)).toMatchObject({ scale: 0, zeroPoint: 255 });
  });

  it('refuses non-finite, inverted ranges and bad bit widths', () => {
    expect(() => nudgeRange(Number.NaN, 1, 8)).toThrow(/finite/);
    expect(() => nudgeRange(0, Number.POSITIVE_INFINITY, 8)).toThrow(/finite/);
    expect(() => nudgeRange(1, 0, 8)).toThrow(/inverted/);
    expect(() => nudgeRange(0, 1, 1)).toThrow(/bits/);
    expect(() => nudgeRange(0, 1, 17)).toThrow(/bits/);
    expect(() => nudgeRange(0, 1, 7.5)).toThrow(/bits/);
  });

  it('stays finite for extreme ranges', () => {
    const r = nudgeRange(-3e38, 3e38, 8);
    expect(Number.isFinite(r.scale) && Number.isFinite(r.nudgedMin) && Number.isFinite(r.nudgedMax)).toBe(true);
  });
});

describe('int8 deployment parameters', () => {
  it('weights: symmetric, zero point 0, [-127, 127], scale = max|w| / 127', () => {
    expect(symmetricParams(2.54)).toEqual({ scale: 0.02, zeroPoint: 0, qmin: -127, qmax: 127 });
    expect(symmetricParams(1, 4)).toEqual({ scale: 1 / 7, zeroPoint: 0, qmin: -7, qmax: 7 });
    expect(symmetricParams(1, 8, false)).toMatchObject({ qmin: -128, qmax: 127 });
    expect(symmetricParams(0).scale).toBe(1);
  });

  it('activations: asymmetric int8 [-128, 127], range widened to contain 0, same grid as fake-quant', () => {
    const p = asymmetricParams(-0.3, 0.7);
    const n = nudgeRange(-0.3, 0.7, 8);
    expect(p).toEqual({ scale: n.scale, zeroPoint: n.zeroPoint - 128, qmin: -128, qmax: 127 });
    // A ReLU output [0.5, 6] is quantized over [0, 6]: zero point at the bottom.
    expect(asymmetricParams(0.5, 6)).toMatchObject({ zeroPoint: -128, scale: Math.fround(6 / 255) });
    expect(asymmetricParams(0, 0).scale).toBe(1);
  });

  it('quantize rounds half to even like ONNX QuantizeLinear, and saturates', () => {
    const p = { scale: 0.5, zeroPoint: 0, qmin: -128, qmax: 127 };
    expect([0.25, 0.75, 1.25, -0.25, -0.75, -1.25].map((x) => quantize(x, p))).toEqual([0, 2, 2, 0, -2, -2]);
    expect(quantize(1000, p)).toBe(127);
    expect(quantize(-1000, p)).toBe(-128);
    expect(dequantize(-3, { scale: 0.5, zeroPoint: -1 })).toBe(-1);
  });

  it('roundHalfEven', () => {
    expect([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4999, 2.5001].map(roundHalfEven)).toEqual([0, 2, 2, -0, -2, -2, 2, 3]);
  });
});
