// Training-time augmentation built from user options, as the trainer's per-batch hook (core
// BatchTransform). Images [N, H, W, C]: random shift (zero fill), random horizontal flip, Gaussian
// noise; tabular [N, F]: Gaussian noise. Randomness comes from the project's PRNG seeded by
// (seed, trainer seed, global step), so a run and its resumption draw the same augmentation.
//
// Cost: shift and flip together are one native per-sample transform (moveSamples); noise is drawn in
// JS and added in one op. A disabled option adds nothing; everything off builds no transform at all.
import * as tf from '../core/tf.js';
import type { BatchContext, BatchTransform } from '../core/train/batchTransform.js';
import { deriveSeed, Rng } from '../core/train/rng.js';
import { ValidationError } from '../errors/index.js';

export interface ImageAugmentation {
  /** Max shift in pixels along height and width, drawn per sample uniformly in [-shift, shift]; 0 = off. */
  shift?: number;
  /** 'horizontal': each sample is mirrored left-right with probability 1/2. */
  flip?: 'horizontal' | false;
  /** Standard deviation of additive Gaussian noise, in input units (after scaling); 0 = off. */
  noise?: number;
}

export interface TabularAugmentation {
  /** Standard deviation of additive Gaussian noise per feature, in input units (standardised features: σ units). */
  noise?: number;
}

/** The transform for image batches, or undefined when every option is off (the trainer then does nothing). */
export function imageAugmentation(config: ImageAugmentation, seed = 0): BatchTransform | undefined {
  const shift = checkShift(config.shift);
  const flip = checkFlip(config.flip);
  const noise = checkNoise(config.noise);
  if (shift === 0 && !flip && noise === 0) return undefined;
  return (x, ctx) => {
    if (x.rank !== 4) throw new Error(`image augmentation needs batches [N, H, W, C], got [${x.shape.join(', ')}]`);
    const rng = stepRng(seed, ctx);
    return tf.tidy(() => {
      const moved = shift > 0 || flip ? shiftFlip(x, shift, flip, rng) : x;
      return noise > 0 ? addNoise(moved, noise, rng) : moved;
    });
  };
}

/** The transform for tabular batches (noise only), or undefined when it is off. */
export function tabularAugmentation(config: TabularAugmentation, seed = 0): BatchTransform | undefined {
  const noise = checkNoise(config.noise);
  if (noise === 0) return undefined;
  return (x, ctx) => addNoise(x, noise, stepRng(seed, ctx));
}

/** Picks the image or the tabular transform from the sample shape; shift and flip need [H, W, C] samples. */
export function augmentationFor(sampleShape: readonly number[], config: ImageAugmentation, seed = 0): BatchTransform | undefined {
  if (sampleShape.length === 3) return imageAugmentation(config, seed);
  if ((config.shift ?? 0) !== 0 || (config.flip ?? false) !== false) {
    throw new ValidationError([{ field: 'augment', reason: `shift and flip need image samples [height, width, channels]; these samples are [${sampleShape.join(', ')}]` }]);
  }
  return tabularAugmentation({ noise: config.noise }, seed);
}

function stepRng(seed: number, ctx: BatchContext): Rng {
  return new Rng(deriveSeed(seed, `augment/${ctx.seed >>> 0}/${ctx.step}`));
}

/** How one sample moves: mirrored left-right first (if set), then shifted down by dy and right by dx. */
export interface SampleMove {
  dy: number;
  dx: number;
  mirrored: boolean;
}

/** Draws every sample's move: (dy, dx) uniform in [-shift, shift]², mirrored with probability 1/2 if `flip`. */
function drawMoves(n: number, shift: number, flip: boolean, rng: Rng): SampleMove[] {
  const span = 2 * shift + 1;
  return Array.from({ length: n }, () => ({
    dy: shift > 0 ? rng.int(span) - shift : 0,
    dx: shift > 0 ? rng.int(span) - shift : 0,
    mirrored: flip && rng.next() < 0.5,
  }));
}

function shiftFlip(x: tf.Tensor, shift: number, flip: boolean, rng: Rng): tf.Tensor {
  return moveSamples(x, drawMoves(x.shape[0]!, shift, flip, rng));
}

// Backends whose Transform kernel is native and right for a batch of transforms. Not 'cpu': in
// tfjs-backend-cpu 4.22 its kernel returns after the first sample, leaving the others all fill value.
const TRANSFORM_BACKENDS = new Set(['wasm', 'tensorflow']);

/**
 * x [N, H, W, C] with sample s moved by moves[s]: out[i][j] = in'[i - dy][j - dx], zero outside the image.
 * 'transform' is TF.js's per-sample projective transform (nearest neighbour at integer coordinates: an
 * exact copy) — one native pass. 'gather' is the portable form: one gather on JS-computed source
 * indices, out-of-image pixels pointing at an appended zero row; WASM's gather checks every index in JS,
 * which makes it several times slower there. 'auto' takes the transform where it is native and correct.
 */
export function moveSamples(x: tf.Tensor, moves: readonly SampleMove[], via: 'auto' | 'transform' | 'gather' = 'auto'): tf.Tensor {
  if (x.rank !== 4) throw new Error(`moving samples needs a batch [N, H, W, C], got [${x.shape.join(', ')}]`);
  const [n, h, w, c] = x.shape as [number, number, number, number];
  if (moves.length !== n) throw new Error(`${moves.length} moves for ${n} samples`);
  const useTransform = via === 'transform' || (via === 'auto' && TRANSFORM_BACKENDS.has(tf.getBackend()) && tf.getKernel('Transform', tf.getBackend()) !== undefined);
  if (useTransform) {
    // Row s maps an output pixel (x, y) to the input pixel ((a0 x + a1 y + a2), (b0 x + b1 y + b2)).
    const m = new Float32Array(n * 8);
    moves.forEach(({ dy, dx, mirrored }, s) => m.set(mirrored ? [-1, 0, w - 1 + dx, 0, 1, -dy, 0, 0] : [1, 0, -dx, 0, 1, -dy, 0, 0], s * 8));
    return tf.tidy(() => tf.image.transform(x as tf.Tensor4D, tf.tensor2d(m, [n, 8]), 'nearest', 'constant', 0));
  }
  const hw = h * w;
  const zero = n * hw; // index of the appended zero row
  const idx = new Int32Array(n * hw);
  moves.forEach(({ dy, dx, mirrored }, s) => {
    for (let i = 0; i < h; i++) {
      const si = i - dy;
      const row = s * hw + i * w;
      if (si < 0 || si >= h) {
        idx.fill(zero, row, row + w);
        continue;
      }
      for (let j = 0; j < w; j++) {
        const sj = j - dx;
        idx[row + j] = sj < 0 || sj >= w ? zero : s * hw + si * w + (mirrored ? w - 1 - sj : sj);
      }
    }
  });
  return tf.tidy(() => {
    const rows = tf.concat([tf.reshape(x, [zero, c]), tf.zeros([1, c], x.dtype)], 0);
    return tf.reshape(tf.gather(rows, tf.tensor1d(idx, 'int32')), x.shape);
  });
}

/**
 * x + N(0, std²), drawn from the project's PRNG (TF.js's random ops use another generator) with
 * Marsaglia's polar method: no sin/cos, about twice as fast as Box–Muller in JS.
 */
function addNoise(x: tf.Tensor, std: number, rng: Rng): tf.Tensor {
  const z = new Float32Array(x.size);
  for (let i = 0; i < z.length; i += 2) {
    let u: number;
    let v: number;
    let s: number;
    do {
      u = 2 * rng.next() - 1;
      v = 2 * rng.next() - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const f = std * Math.sqrt((-2 * Math.log(s)) / s);
    z[i] = u * f;
    if (i + 1 < z.length) z[i + 1] = v * f;
  }
  return tf.tidy(() => tf.add(x, tf.tensor(z, x.shape, 'float32')));
}

function checkShift(v: number | undefined): number {
  const s = v ?? 0;
  if (!Number.isInteger(s) || s < 0) throw new ValidationError([{ field: 'augment.shift', reason: `must be a whole number of pixels >= 0, got ${v}` }]);
  return s;
}

function checkFlip(v: ImageAugmentation['flip']): boolean {
  if (v === undefined || v === false) return false;
  if (v === 'horizontal') return true;
  throw new ValidationError([{ field: 'augment.flip', reason: `must be 'horizontal' or false, got ${String(v)}` }]);
}

function checkNoise(v: number | undefined): number {
  const s = v ?? 0;
  if (!(s >= 0) || !Number.isFinite(s)) throw new ValidationError([{ field: 'augment.noise', reason: `must be a finite standard deviation >= 0, got ${v}` }]);
  return s;
}
