// Weight files quantized by the TF.js converter (--quantize_uint8/uint16/float16): their byte lengths
// follow the stored dtype, and the values are dequantized on load exactly as TF.js dequantizes them.
import { beforeAll, describe, expect, it } from 'vitest';
import { importModel } from '../../../src/data/model/index.js';
import { parseManifest } from '../../../src/data/model/manifest.js';
import { useBackend } from '../../support/backends.js';
import { fixtureBytes, fixtureJson, problem, refusal } from './helpers.js';

beforeAll(() => useBackend('cpu'));

interface Doc {
  weightsManifest: { paths: string[]; weights: { name: string; shape: number[]; dtype: string; quantization?: Record<string, unknown> }[] }[];
}

const weights = new Float32Array(fixtureBytes('iris-keras2/group1-shard1of1.bin').slice().buffer);
const sizes = [64, 16, 48, 3];
const entries = () => {
  let at = 0;
  return sizes.map((n) => weights.subarray(at, (at += n)));
};

/** The converter's affine quantization: min and scale per weight, q = round((w - min) / scale). */
function affine(bits: 8 | 16) {
  const quantized = entries().map((w) => {
    const min = Math.min(...w);
    const scale = (Math.max(...w) - min) / (2 ** bits - 1);
    const q = Array.from(w, (v) => Math.round((v - min) / scale));
    return { min, scale, q, dequantized: q.map((v) => v * scale + min) };
  });
  const Out = bits === 8 ? Uint8Array : Uint16Array;
  const data = quantized.flatMap((e) => Array.from(new Uint8Array(Out.from(e.q).buffer)));
  return { quantized, data: Uint8Array.from(data) };
}

/** IEEE half precision, round to nearest (the weights here are small normal numbers). */
function half(v: number): number {
  const u = new Uint32Array(new Float32Array([v]).buffer)[0]!;
  const sign = (u >>> 16) & 0x8000;
  const exp = ((u >>> 23) & 0xff) - 112;
  if (exp <= 0) return sign;
  return sign | ((exp << 10) + (((u & 0x7fffff) + 0x1000) >> 13));
}

function fromHalf(h: number): number {
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  const value = exp === 0 ? frac * 2 ** -24 : (1 + frac / 1024) * 2 ** (exp - 15);
  return h & 0x8000 ? -value : value;
}

function manifestWith(quantization: (i: number) => Record<string, unknown>): Doc {
  const doc = fixtureJson<Doc>('iris-keras2/model.json');
  doc.weightsManifest[0]!.weights.forEach((w, i) => (w.quantization = quantization(i)));
  return doc;
}

const weightsOf = async (doc: Doc, data: Uint8Array) => {
  const { model } = await importModel({ modelJson: doc, weights: new Map([['group1-shard1of1.bin', data]]) }, { maxParams: 1000 });
  const values = model.layers.flatMap((l) => l.getWeights()).map((t) => Array.from(t.dataSync()));
  model.dispose();
  return values;
};

describe('quantized weight files', () => {
  it.each([8, 16] as const)('uint%i: w = q · scale + min, within half a step of the float weights', async (bits) => {
    const { quantized, data } = affine(bits);
    expect(data.byteLength).toBe((131 * bits) / 8);
    const doc = manifestWith((i) => ({ dtype: bits === 8 ? 'uint8' : 'uint16', min: quantized[i]!.min, scale: quantized[i]!.scale }));
    const loaded = await weightsOf(doc, data);
    loaded.forEach((w, i) => {
      w.forEach((v, j) => expect(v).toBeCloseTo(quantized[i]!.dequantized[j]!, 6));
      w.forEach((v, j) => expect(Math.abs(v - entries()[i]![j]!)).toBeLessThanOrEqual(quantized[i]!.scale / 2 + 1e-7));
    });
  });

  it('float16: each weight is the nearest half-precision value', async () => {
    const halves = Uint16Array.from(weights, half);
    const loaded = await weightsOf(manifestWith(() => ({ dtype: 'float16' })), new Uint8Array(halves.buffer));
    let at = 0;
    // TF.js decodes half floats through lookup tables that land a few float32 steps off the exact value.
    for (const w of loaded) for (const v of w) expect(Math.abs(v - fromHalf(halves[at++]!))).toBeLessThanOrEqual(Math.abs(v) * 2 ** -20);
    expect(Math.max(...loaded.flat().map((v, i) => Math.abs(v - weights[i]!) / Math.max(Math.abs(weights[i]!), 1e-3)))).toBeLessThan(1e-3);
  });

  it('a float32-sized file under a uint8 manifest is refused by its length, before anything is allocated', async () => {
    const { quantized } = affine(8);
    const doc = manifestWith((i) => ({ dtype: 'uint8', min: quantized[i]!.min, scale: quantized[i]!.scale }));
    const e = await refusal(() => importModel({ modelJson: doc, weights: new Map([['group1-shard1of1.bin', fixtureBytes('iris-keras2/group1-shard1of1.bin')]]) }, { maxParams: 1000 }));
    problem(e, 'weights', /weight file 'group1-shard1of1\.bin': expected 131 bytes \(from the manifest\), got 524/);
  });

  it('byte sizes per dtype: float32 and int32 4, bool 1, uint8 1, uint16 and float16 2', () => {
    const [group] = parseManifest(
      [
        {
          paths: ['w.bin'],
          weights: [
            { name: 'a', shape: [2, 3], dtype: 'float32' },
            { name: 'b', shape: [5], dtype: 'int32' },
            { name: 'c', shape: [7], dtype: 'bool' },
            { name: 'd', shape: [10], dtype: 'float32', quantization: { dtype: 'uint8', min: 0, scale: 1 } },
            { name: 'e', shape: [10], dtype: 'float32', quantization: { dtype: 'uint16', min: 0, scale: 1 } },
            { name: 'f', shape: [10], dtype: 'float32', quantization: { dtype: 'float16' } },
            { name: 'g', shape: [0, 4], dtype: 'float32' },
          ],
        },
      ],
      10,
    );
    expect(group!.entries.map((e) => e.bytes)).toEqual([24, 20, 7, 10, 20, 20, 0]);
    expect(group!.bytes).toBe(101);
  });

  it('refuses a quantization without its scale and min, and dtypes TF.js cannot store', async () => {
    const doc = manifestWith((i) => (i === 0 ? { dtype: 'uint8' } : i === 1 ? { dtype: 'int4', min: 0, scale: 1 } : {}));
    doc.weightsManifest[0]!.weights.forEach((w, i) => i >= 2 && delete w.quantization);
    doc.weightsManifest[0]!.weights[2]!.dtype = 'complex64';
    const e = await refusal(() => importModel({ modelJson: doc, weights: new Map() }, { maxParams: 1000 }));
    problem(e, 'weights', /weight 'dense\/kernel': uint8 quantization needs finite scale and min/);
    problem(e, 'weights', /weight 'dense\/bias': quantization dtype "int4" is not supported/);
    problem(e, 'weights', /weight 'dense_1\/kernel': dtype "complex64" is not supported \(float32, int32 or bool\)/);
  });
});
