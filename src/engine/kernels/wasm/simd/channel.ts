// Bodies of the per-channel loops: batch norm's affine map and the broadcast binary ops.
import { groupAt, I32, op, perPixelGroups, withLocals } from './assembler.js';

// Parameters: 0 x, 1 out, 2 params (byte addresses; params holds mean, factor, offset: three runs of
// pixelBytes), 3 pixels, 4 pixelBytes (channels·4, a multiple of 16). Locals: 5 i, 6 g (i32).
// out = (x - mean)·factor + offset per channel, four channels a step.
export function affineBody(): number[] {
  const body = [
    ...groupAt(1, 6),
    ...groupAt(0, 6), ...op.load,
    ...groupAt(2, 6), ...op.load, ...op.sub,
    ...groupAt(2, 6), ...op.get(4), ...op.i32Add, ...op.load, ...op.mul,
    ...groupAt(2, 6), ...op.get(4), ...op.i32Add, ...op.get(4), ...op.i32Add, ...op.load, ...op.add,
    ...op.store,
  ];
  return withLocals([[2, I32]], perPixelGroups(3, 4, 5, 6, [0, 1], body));
}

/** The per-channel broadcast binary ops: name, f32x4 opcode, whether the vector is the left operand. */
export const CHANNEL_OPS = [
  ['add', [0xfd, 0xe4, 0x01], false],
  ['sub', [0xfd, 0xe5, 0x01], false],
  ['subFrom', [0xfd, 0xe5, 0x01], true],
  ['mul', [0xfd, 0xe6, 0x01], false],
  ['div', [0xfd, 0xe7, 0x01], false],
  ['divInto', [0xfd, 0xe7, 0x01], true],
] as const;
export type ChannelOp = (typeof CHANNEL_OPS)[number][0];

// Parameters: 0 x, 1 v, 2 out (byte addresses), 3 pixels, 4 pixelBytes (channels·4, a multiple of 16).
// Locals: 5 i, 6 g. out[p, c] = x[p, c] ∘ v[c] (or v[c] ∘ x[p, c]), four channels a step.
export function channelOpBody(opcode: readonly number[], vectorFirst: boolean): number[] {
  const xv = [...groupAt(0, 6), ...op.load];
  const vv = [...groupAt(1, 6), ...op.load];
  const body = [...groupAt(2, 6), ...(vectorFirst ? [...vv, ...xv] : [...xv, ...vv]), ...opcode, ...op.store];
  return withLocals([[2, I32]], perPixelGroups(3, 4, 5, 6, [0, 2], body));
}
