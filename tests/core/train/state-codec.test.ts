// The binary state file: typed arrays travel as raw bytes, non-finite numbers survive, and damaged or
// foreign bytes are refused with a clear error instead of decoding into nonsense.
import { describe, expect, it } from 'vitest';
import { decodeState, encodeState, StateCodecError } from '../../../src/core/train/stateCodec.js';

const sample = () => ({
  step: 7,
  loss: Number.NaN,
  best: Number.POSITIVE_INFINITY,
  worst: Number.NEGATIVE_INFINITY,
  history: [{ epoch: 0, loss: 0.5 }, { epoch: 1, loss: Number.NaN }],
  weights: {
    'dense/kernel': { shape: [2, 3], dtype: 'float32', data: new Float32Array([1, -0, Number.NaN, 3.5e-39, -1e38, Number.POSITIVE_INFINITY]) },
    'dense/count': { shape: [3], dtype: 'int32', data: new Int32Array([-2147483648, 0, 2147483647]) },
    flags: new Uint8Array([1, 2, 3]), // 3 bytes: the next array must still be aligned
    after: new Float32Array([42]),
  },
  nothing: null,
});

describe('state codec', () => {
  it('round-trips structure, typed arrays bit for bit, and NaN / ±Infinity', () => {
    const out = decodeState(encodeState(sample())) as ReturnType<typeof sample>;
    expect(out.step).toBe(7);
    expect(out.loss).toBeNaN();
    expect(out.best).toBe(Number.POSITIVE_INFINITY);
    expect(out.worst).toBe(Number.NEGATIVE_INFINITY);
    expect(out.history[1]!.loss).toBeNaN();
    expect(out.nothing).toBeNull();
    const k = out.weights['dense/kernel'].data;
    expect(k).toBeInstanceOf(Float32Array);
    expect(new Uint8Array(k.buffer)).toEqual(new Uint8Array(sample().weights['dense/kernel'].data.buffer));
    expect(Object.is(k[1], -0)).toBe(true);
    expect(out.weights['dense/count'].data).toEqual(new Int32Array([-2147483648, 0, 2147483647]));
    expect(out.weights.flags).toEqual(new Uint8Array([1, 2, 3]));
    expect(out.weights.after).toEqual(new Float32Array([42]));
  });

  it('decodes from any offset of a larger buffer (an aligned private copy per array)', () => {
    const bytes = encodeState(sample());
    const shifted = new Uint8Array(bytes.length + 3);
    shifted.set(bytes, 3);
    const out = decodeState(shifted.subarray(3)) as ReturnType<typeof sample>;
    expect(out.weights.after).toEqual(new Float32Array([42]));
  });

  it('decodes from a Node Buffer read back from disk (whose slice() is a view, not a copy)', () => {
    const pooled = Buffer.concat([Buffer.alloc(5), Buffer.from(encodeState(sample()))]).subarray(5);
    const out = decodeState(pooled) as ReturnType<typeof sample>;
    expect(out.weights['dense/kernel'].data.length).toBe(6);
    expect(out.weights.after).toEqual(new Float32Array([42]));
  });

  it('stores arrays as bytes, not as JSON numbers', () => {
    const big = encodeState({ w: new Float32Array(10_000).fill(0.123456789) });
    expect(big.length).toBeLessThan(40_000 + 200);
  });

  it('refuses foreign, truncated, padded and future-version bytes', () => {
    const bytes = encodeState(sample());
    expect(() => decodeState(new TextEncoder().encode('{"step": 1}'))).toThrow(StateCodecError);
    expect(() => decodeState(bytes.subarray(0, bytes.length - 4))).toThrow(/bytes, the header describes/);
    const padded = new Uint8Array(bytes.length + 4);
    padded.set(bytes);
    expect(() => decodeState(padded)).toThrow(/bytes, the header describes/);
    const future = bytes.slice();
    new DataView(future.buffer).setUint32(8, 99, true);
    expect(() => decodeState(future)).toThrow(/format version 99/);
    expect(() => decodeState(bytes.subarray(0, 20))).toThrow(StateCodecError);
  });

  it('refuses typed arrays it cannot restore', () => {
    expect(() => encodeState({ x: new Float64Array(2) })).toThrow(/Float64Array/);
  });
});
