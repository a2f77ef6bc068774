// The integer kernels against direct per-output-element formulas (no im2col, no re-laid-out weights),
// through hand-built IntModels: indexing, padding, strides, dilations, depth multipliers, channel tails.
import { describe, expect, it } from 'vitest';
import type { IntModel, IntOp, IntTensor } from '../../../src/core/convert/types.js';
import { tfPads } from '../../../src/core/convert/geometry.js';
import { requantize, requantMultiplier, rescaleMultiplier, roundHalfEven } from '../../../src/core/intref/arith.js';
import { evaluateIntModel } from '../../../src/core/intref/run.js';
import { rng } from './models.js';

const act = (name: string, shape: number[], scale: number, zeroPoint: number): IntTensor => ({
  name,
  shape,
  dtype: 'int8',
  quant: { scale: [Math.fround(scale)], zeroPoint: [zeroPoint], axis: null, qmin: -128, qmax: 127 },
});

function ints(n: number, seed: number, lo: number, hi: number): number[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => lo + Math.floor(r() * (hi - lo + 1)));
}

/** Runs `op` on int8 inputs given as integers (float inputs on the grid quantize exactly). */
function runOp(op: IntOp, inputs: { t: IntTensor; q: number[] }[], constants: IntTensor[], output: IntTensor, batch: number): Int8Array {
  const tensors: Record<string, IntTensor> = {};
  const ops: IntOp[] = [];
  for (const { t } of inputs) {
    tensors[`${t.name}/f`] = { name: `${t.name}/f`, shape: t.shape, dtype: 'float32' };
    tensors[t.name] = t;
    ops.push({ kind: 'quantize', name: `${t.name}/q`, layer: 'x', inputs: [`${t.name}/f`], outputs: [t.name] });
  }
  for (const c of constants) tensors[c.name] = c;
  tensors[output.name] = output;
  tensors.out = { name: 'out', shape: output.shape, dtype: 'float32' };
  ops.push(op, { kind: 'dequantize', name: 'deq', layer: 'y', inputs: [output.name], outputs: ['out'] });
  const model = { format: 'qat-int-model', version: 1, name: 't', inputs: inputs.map(({ t }) => `${t.name}/f`), outputs: ['out'], tensors, ops } as unknown as IntModel;
  const feeds = inputs.map(({ t, q }) => Float32Array.from(q, (v) => (v - t.quant!.zeroPoint[0]!) * t.quant!.scale[0]!));
  const r = evaluateIntModel(model, feeds, batch, { trace: true });
  inputs.forEach(({ t, q }) => expect(Array.from(r.tensors![t.name]!)).toEqual(q)); // the feeds were exact
  return r.tensors![output.name] as Int8Array;
}

function weightTensor(name: string, shape: number[], q: number[], scales: number[]): IntTensor {
  return { name, shape, dtype: 'int8', data: Int8Array.from(q), quant: { scale: scales.map(Math.fround), zeroPoint: scales.map(() => 0), axis: scales.length > 1 ? shape.length - 1 : null, qmin: -127, qmax: 127 } };
}

function biasTensor(name: string, q: number[], scales: number[]): IntTensor {
  return { name, shape: [q.length], dtype: 'int32', data: Int32Array.from(q), quant: { scale: scales, zeroPoint: scales.map(() => 0), axis: 0, qmin: -(2 ** 31), qmax: 2 ** 31 - 1 } };
}

describe('conv2d', () => {
  const cases = [
    { name: 'same, stride 2, 5 filters (a tail after groups of four)', H: 5, W: 6, cin: 3, cout: 5, k: [3, 3] as [number, number], s: [2, 2] as [number, number], d: [1, 1] as [number, number], padding: 'same' as const },
    { name: 'valid, dilation 2', H: 7, W: 7, cin: 2, cout: 4, k: [3, 2] as [number, number], s: [1, 1] as [number, number], d: [2, 2] as [number, number], padding: 'valid' as const },
    { name: 'same, dilation 2 (partial rows gathered cell by cell)', H: 6, W: 5, cin: 2, cout: 3, k: [3, 3] as [number, number], s: [1, 1] as [number, number], d: [2, 2] as [number, number], padding: 'same' as const },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const { H, W, cin, cout, k, s, d, padding } = c;
      const batch = 2;
      const pads = tfPads(H, W, k, s, d, padding);
      const outH = Math.floor((H + pads[0] + pads[2] - ((k[0] - 1) * d[0] + 1)) / s[0]) + 1;
      const outW = Math.floor((W + pads[1] + pads[3] - ((k[1] - 1) * d[1] + 1)) / s[1]) + 1;
      const x = act('x', [-1, H, W, cin], 0.05, -7);
      const y = act('y', [-1, outH, outW, cout], 0.2, 5);
      const wq = ints(k[0] * k[1] * cin * cout, 1, -127, 127);
      const ws = Array.from({ length: cout }, (_, i) => 0.01 * (i + 1));
      const bq = ints(cout, 2, -3000, 3000);
      const bs = ws.map((w) => Math.fround(Math.fround(0.05) * Math.fround(w)));
      const xq = ints(batch * H * W * cin, 3, -128, 127);
      const op: IntOp = { kind: 'conv2d', name: 'c', layer: 'c', inputs: ['x', 'w', 'b'], outputs: ['y'], activation: 'relu', clamp: [5, 127], kernelSize: k, strides: s, dilations: d, padding, pads };
      const got = runOp(op, [{ t: x, q: xq }], [weightTensor('w', [k[0], k[1], cin, cout], wq, ws), biasTensor('b', bq, bs)], y, batch);
      const want: number[] = [];
      for (let n = 0; n < batch; n++)
        for (let oh = 0; oh < outH; oh++)
          for (let ow = 0; ow < outW; ow++)
            for (let oc = 0; oc < cout; oc++) {
              let acc = bq[oc]!;
              for (let ky = 0; ky < k[0]; ky++)
                for (let kx = 0; kx < k[1]; kx++)
                  for (let ci = 0; ci < cin; ci++) {
                    const ih = oh * s[0] - pads[0] + ky * d[0];
                    const iw = ow * s[1] - pads[1] + kx * d[1];
                    if (ih < 0 || iw < 0 || ih >= H || iw >= W) continue;
                    acc += (xq[((n * H + ih) * W + iw) * cin + ci]! + 7) * wq[((ky * k[1] + kx) * cin + ci) * cout + oc]!;
                  }
              want.push(requantize(acc, requantMultiplier(Math.fround(0.05), Math.fround(ws[oc]!), Math.fround(0.2)), 5, 5, 127));
            }
      expect(Array.from(got)).toEqual(want);
      expect(new Set(want).size).toBeGreaterThan(10); // not all saturated
    });
  }
});

describe('depthwise', () => {
  it('multiplier 2, same padding, stride 1, per-channel scales', () => {
    const H = 4;
    const W = 5;
    const cin = 3;
    const mult = 2;
    const cout = cin * mult;
    const batch = 2;
    const pads = tfPads(H, W, [3, 3], [1, 1], [1, 1], 'same');
    const x = act('x', [-1, H, W, cin], 0.1, 3);
    const y = act('y', [-1, H, W, cout], 0.15, -2);
    const wq = ints(9 * cout, 4, -127, 127);
    const ws = Array.from({ length: cout }, (_, i) => 0.004 * (i + 2));
    const xq = ints(batch * H * W * cin, 5, -128, 127);
    const op: IntOp = { kind: 'depthwise', name: 'd', layer: 'd', inputs: ['x', 'w'], outputs: ['y'], activation: 'linear', clamp: [-128, 127], kernelSize: [3, 3], strides: [1, 1], dilations: [1, 1], padding: 'same', pads, depthMultiplier: mult };
    const got = runOp(op, [{ t: x, q: xq }], [weightTensor('w', [3, 3, cout], wq, ws)], y, batch);
    const want: number[] = [];
    for (let n = 0; n < batch; n++)
      for (let oh = 0; oh < H; oh++)
        for (let ow = 0; ow < W; ow++)
          for (let ci = 0; ci < cin; ci++)
            for (let m = 0; m < mult; m++) {
              const oc = ci * mult + m;
              let acc = 0;
              for (let ky = 0; ky < 3; ky++)
                for (let kx = 0; kx < 3; kx++) {
                  const ih = oh - pads[0] + ky;
                  const iw = ow - pads[1] + kx;
                  if (ih < 0 || iw < 0 || ih >= H || iw >= W) continue;
                  acc += (xq[((n * H + ih) * W + iw) * cin + ci]! - 3) * wq[(ky * 3 + kx) * cout + oc]!;
                }
              want.push(requantize(acc, requantMultiplier(Math.fround(0.1), Math.fround(ws[oc]!), Math.fround(0.15)), -2, -128, 127));
            }
    expect(Array.from(got)).toEqual(want);
  });
});

describe('dense', () => {
  it('rank-3 input (rows × features), per-tensor weights', () => {
    const x = act('x', [-1, 3, 4], 0.02, 10);
    const y = act('y', [-1, 3, 2], 0.1, 0);
    const wq = ints(8, 6, -127, 127);
    const xq = ints(2 * 12, 7, -128, 127);
    const op: IntOp = { kind: 'dense', name: 'f', layer: 'f', inputs: ['x', 'w', 'b'], outputs: ['y'], activation: 'linear', clamp: [-128, 127] };
    const got = runOp(op, [{ t: x, q: xq }], [weightTensor('w', [4, 2], wq, [0.03]), biasTensor('b', [100, -100], [Math.fround(Math.fround(0.02) * Math.fround(0.03))])], y, 2);
    const m = requantMultiplier(Math.fround(0.02), Math.fround(0.03), Math.fround(0.1));
    const want: number[] = [];
    for (let r = 0; r < 6; r++)
      for (let o = 0; o < 2; o++) {
        let acc = o === 0 ? 100 : -100;
        for (let k = 0; k < 4; k++) acc += (xq[r * 4 + k]! - 10) * wq[k * 2 + o]!;
        want.push(requantize(acc, m, 0, -128, 127));
      }
    expect(Array.from(got)).toEqual(want);
  });
});

describe('pools', () => {
  const H = 5;
  const W = 5;
  const C = 2;
  const xq = ints(2 * H * W * C, 8, -128, 127);
  const at = (n: number, h: number, w: number, c: number) => xq[((n * H + h) * W + w) * C + c]!;

  it('max-pool 3×3 stride 2 same: integer max over in-bounds cells, same grid', () => {
    const pads = tfPads(H, W, [3, 3], [2, 2], [1, 1], 'same');
    const x = act('x', [-1, H, W, C], 0.1, 0);
    const y = act('y', [-1, 3, 3, C], 0.1, 0);
    const got = runOp({ kind: 'maxpool', name: 'p', layer: 'p', inputs: ['x'], outputs: ['y'], poolSize: [3, 3], strides: [2, 2], padding: 'same', pads }, [{ t: x, q: xq }], [], y, 2);
    const want: number[] = [];
    for (let n = 0; n < 2; n++)
      for (let oh = 0; oh < 3; oh++)
        for (let ow = 0; ow < 3; ow++)
          for (let c = 0; c < C; c++) {
            let m = -Infinity;
            for (let h = oh * 2 - pads[0]; h < oh * 2 - pads[0] + 3; h++) for (let w = ow * 2 - pads[1]; w < ow * 2 - pads[1] + 3; w++) if (h >= 0 && w >= 0 && h < H && w < W) m = Math.max(m, at(n, h, w, c));
            want.push(m);
          }
    expect(Array.from(got)).toEqual(want);
  });

  it('average pool 2×2 stride 2 same: padding excluded from the count, one half-even rounding', () => {
    const pads = tfPads(H, W, [2, 2], [2, 2], [1, 1], 'same');
    expect(pads).toEqual([0, 0, 1, 1]);
    const x = act('x', [-1, H, W, C], 0.1, -3);
    const y = act('y', [-1, 3, 3, C], 0.07, 4);
    const got = runOp({ kind: 'avgpool', name: 'p', layer: 'p', inputs: ['x'], outputs: ['y'], poolSize: [2, 2], strides: [2, 2], padding: 'same', pads }, [{ t: x, q: xq }], [], y, 2);
    const want: number[] = [];
    for (let n = 0; n < 2; n++)
      for (let oh = 0; oh < 3; oh++)
        for (let ow = 0; ow < 3; ow++)
          for (let c = 0; c < C; c++) {
            let sum = 0;
            let count = 0;
            for (let h = oh * 2; h < Math.min(H, oh * 2 + 2); h++) for (let w = ow * 2; w < Math.min(W, ow * 2 + 2); w++) (sum += at(n, h, w, c) + 3), count++;
            want.push(requantize(sum, Math.fround(Math.fround(0.1) / Math.fround(Math.fround(0.07) * count)), 4, -128, 127));
          }
    expect(Array.from(got)).toEqual(want);
  });

  it('global average and global max pools', () => {
    const x = act('x', [-1, H, W, C], 0.1, -3);
    const y = act('y', [-1, C], 0.02, -10);
    const avg = runOp({ kind: 'globalavgpool', name: 'g', layer: 'g', inputs: ['x'], outputs: ['y'] }, [{ t: x, q: xq }], [], y, 2);
    const max = runOp({ kind: 'globalmaxpool', name: 'g', layer: 'g', inputs: ['x'], outputs: ['y'] }, [{ t: x, q: xq }], [], y, 2);
    const wantAvg: number[] = [];
    const wantMax: number[] = [];
    for (let n = 0; n < 2; n++)
      for (let c = 0; c < C; c++) {
        let sum = 0;
        let m = -Infinity;
        for (let h = 0; h < H; h++) for (let w = 0; w < W; w++) (sum += at(n, h, w, c) + 3), (m = Math.max(m, at(n, h, w, c)));
        wantAvg.push(requantize(sum, Math.fround(Math.fround(0.1) / Math.fround(Math.fround(0.02) * H * W)), -10, -128, 127));
        wantMax.push(requantize(m + 3, rescaleMultiplier(Math.fround(0.1), Math.fround(0.02)), -10, -128, 127));
      }
    expect(Array.from(avg)).toEqual(wantAvg);
    expect(Array.from(max)).toEqual(wantMax);
  });
});

describe('merges and concatenation', () => {
  const a = act('a', [-1, 2, 3], 0.1, 5);
  const b = act('b', [-1, 2, 3], 0.03, -20);
  const y = act('y', [-1, 2, 3], 0.08, 1);
  const aq = ints(12, 9, -128, 127);
  const bq = ints(12, 10, -128, 127);
  const ma = rescaleMultiplier(Math.fround(0.1), Math.fround(0.08));
  const mb = rescaleMultiplier(Math.fround(0.03), Math.fround(0.08));
  const sat = (v: number) => Math.max(-128, Math.min(127, v));
  const terms = (i: number) => [Math.fround((aq[i]! - 5) * ma), Math.fround((bq[i]! - -20) * mb)] as const;

  it('add: each input rescaled in float32, summed, one rounding', () => {
    const got = runOp({ kind: 'add', name: 'm', layer: 'm', inputs: ['a', 'b'], outputs: ['y'] }, [{ t: a, q: aq }, { t: b, q: bq }], [], y, 2);
    expect(Array.from(got)).toEqual(aq.map((_, i) => sat(roundHalfEven(Math.fround(terms(i)[0] + terms(i)[1])) + 1)));
  });

  it('maximum and minimum compare the rescaled values', () => {
    const max = runOp({ kind: 'maximum', name: 'm', layer: 'm', inputs: ['a', 'b'], outputs: ['y'] }, [{ t: a, q: aq }, { t: b, q: bq }], [], y, 2);
    const min = runOp({ kind: 'minimum', name: 'm', layer: 'm', inputs: ['a', 'b'], outputs: ['y'] }, [{ t: a, q: aq }, { t: b, q: bq }], [], y, 2);
    expect(Array.from(max)).toEqual(aq.map((_, i) => sat(roundHalfEven(Math.max(...terms(i))) + 1)));
    expect(Array.from(min)).toEqual(aq.map((_, i) => sat(roundHalfEven(Math.min(...terms(i))) + 1)));
  });

  it('concatenate along the last axis: an input on the output grid is copied, another requantized', () => {
    const same = act('s', [-1, 2, 1], 0.08, 1);
    const sq = ints(4, 11, -128, 127);
    const out = act('y', [-1, 2, 4], 0.08, 1);
    const got = runOp({ kind: 'concat', name: 'c', layer: 'c', inputs: ['a', 's'], outputs: ['y'], axis: 2 }, [{ t: a, q: aq }, { t: same, q: sq }], [], out, 2);
    const want: number[] = [];
    for (let r = 0; r < 4; r++) {
      for (let k = 0; k < 3; k++) want.push(requantize(aq[r * 3 + k]! - 5, ma, 1, -128, 127));
      want.push(sq[r]!);
    }
    expect(Array.from(got)).toEqual(want);
  });
});
