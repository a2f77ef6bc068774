// Per-channel layout of a flat row-major array, the fake-quant's convention (fakeQuantMath.ts): the
// values form contiguous blocks of `inner` elements, block b belonging to channel b % channels.
import type { ChannelLayout } from '../fakeQuantMath.js';

export function flatLayout(shape: readonly number[], length: number, channels: number | undefined, axis: number, what: string): ChannelLayout {
  const size = shape.reduce((a, b) => a * b, 1);
  if (shape.some((d) => !Number.isInteger(d) || d < 0) || size !== length) {
    throw new RangeError(`${what}: shape [${shape}] does not describe ${length} values`);
  }
  if (channels === undefined) return { channels: 1, inner: Math.max(1, length) };
  const ax = axis < 0 ? shape.length + axis : axis;
  if (ax < 0 || ax >= shape.length) throw new RangeError(`${what}: axis ${axis} is out of range for shape [${shape}]`);
  if (shape[ax] !== channels) throw new RangeError(`${what}: calibrates ${channels} channels but axis ${ax} of shape [${shape}] has ${shape[ax]}`);
  return { channels, inner: shape.slice(ax + 1).reduce((a, b) => a * b, 1) };
}
