// Golden values for the runtime arithmetic the integer reference reproduces (ONNX Runtime / MLAS):
// float32 multipliers, float32 product, round half to even, zero point, saturation.
import { describe, expect, it } from 'vitest';
import { dequantizeLinear, quantizeLinear, requantize, requantMultiplier, rescaleMultiplier, roundHalfEven } from '../../../src/core/intref/arith.js';

describe('roundHalfEven', () => {
  it('rounds exact halves to the even neighbour, both signs', () => {
    expect([0.5, 1.5, 2.5, 3.5, -0.5, -1.5, -2.5, -3.5].map(roundHalfEven)).toEqual([0, 2, 2, 4, -0, -2, -2, -4]);
  });
  it('rounds everything else to nearest', () => {
    expect([2.4999999, 2.5000001, -2.5000001, -2.4999999, 7, -7, 126.6].map(roundHalfEven)).toEqual([2, 3, -3, -2, 7, -7, 127]);
  });
});

describe('requantize', () => {
  // Multipliers that are powers of two make acc · M exact, so these are real ties.
  it('ties go to even (positive and negative accumulators)', () => {
    expect(requantize(5, 0.5, 0, -128, 127)).toBe(2); // 2.5
    expect(requantize(7, 0.5, 0, -128, 127)).toBe(4); // 3.5
    expect(requantize(-5, 0.5, 0, -128, 127)).toBe(-2); // -2.5
    expect(requantize(-7, 0.5, 0, -128, 127)).toBe(-4); // -3.5
    expect(requantize(-3, 0.25, 0, -128, 127)).toBe(-1); // -0.75
  });
  it('adds the zero point after rounding', () => {
    expect(requantize(5, 0.5, 3, -128, 127)).toBe(5); // round(2.5) + 3, not round(5.5)
    expect(requantize(-7, 0.5, -100, -128, 127)).toBe(-104);
  });
  it('saturates to int8 and to a fused activation clamp', () => {
    expect(requantize(1000, 0.5, 0, -128, 127)).toBe(127);
    expect(requantize(-1000, 0.5, 0, -128, 127)).toBe(-128);
    expect(requantize(-1000, 0.5, 10, -128, 127)).toBe(-128);
    expect(requantize(-20, 0.5, -128, -128, 127)).toBe(-128); // relu clamp at zp = -128
    expect(requantize(-20, 0.5, -50, -50, 127)).toBe(-50); // relu clamp at zp = -50
    expect(requantize(200, 0.5, -50, -50, 20)).toBe(20); // relu6 upper clamp
  });
  it('multiplies in float32, as MLAS does: a product just above .5 in double is a tie in float32', () => {
    const m = Math.fround(0.1); // 0.100000001490116…
    expect(25 * m).toBeGreaterThan(2.5);
    expect(requantize(25, m, 0, -128, 127)).toBe(2); // fround(2.5000000372) = 2.5 → even
    expect(requantize(35, m, 0, -128, 127)).toBe(4); // 3.5 → 4
  });
  it('converts the accumulator to float32 first (large accumulators lose low bits as in the runtime)', () => {
    // 2^24 + 1 is not a float32: it becomes 2^24.
    expect(requantize(2 ** 24 + 1, 2 ** -24, 0, -128, 127)).toBe(1);
    expect(requantize(2 ** 24 + 3, 2 ** -1, 0, -(2 ** 31), 2 ** 31)).toBe(2 ** 23 + 2);
  });
});

describe('multipliers', () => {
  it('M = fround(fround(sx · sw) / sy)', () => {
    expect(requantMultiplier(0.5, 0.25, 0.125)).toBe(1);
    const sx = Math.fround(0.0039215689);
    const sw = Math.fround(0.0123);
    const sy = Math.fround(0.047);
    expect(requantMultiplier(sx, sw, sy)).toBe(Math.fround(Math.fround(sx * sw) / sy));
    expect(requantMultiplier(sx, sw, sy)).not.toBe(sx * sw / sy); // a float32 value, not a double
  });
  it('rescale multiplier = fround(sx / sy)', () => {
    expect(rescaleMultiplier(0.5, 0.25)).toBe(2);
    expect(rescaleMultiplier(0.1, 0.3)).toBe(Math.fround(0.1 / 0.3));
  });
});

describe('QuantizeLinear / DequantizeLinear', () => {
  it('x / scale in float32, half to even, zero point, saturation', () => {
    expect(quantizeLinear(0.25, 0.5, 0, -128, 127)).toBe(0); // 0.5 → 0
    expect(quantizeLinear(0.75, 0.5, 0, -128, 127)).toBe(2); // 1.5 → 2
    expect(quantizeLinear(-0.75, 0.5, -128, -128, 127)).toBe(-128); // -2 - 128 saturates
    expect(quantizeLinear(1000, 0.5, 0, -128, 127)).toBe(127);
    expect(quantizeLinear(0, 0.017, -37, -128, 127)).toBe(-37); // 0 is exact
  });
  it('dequantizes to float32', () => {
    expect(dequantizeLinear(-37, 0.017, -37)).toBe(0);
    expect(dequantizeLinear(10, 0.1, 0)).toBe(Math.fround(1));
    expect(dequantizeLinear(3, Math.fround(0.1), 0)).toBe(Math.fround(3 * Math.fround(0.1)));
  });
});
