// Bodies of training-mode batch norm (bn-training.ts).
import { groupAt, HIGH_HALF, I32, op, perPixelGroups, simdOp, V128, withLocals } from './assembler.js';

// Training-mode batch norm (bn-training.ts): per-pixel loops over the channel groups of four, the
// per-channel sums in float64 (f32x4 promoted to two f64x2) down the rows, as reduce-leading.ts sums.

/** The float64 accumulators of group g (32 bytes a group of four channels) += the f32x4 in local `v`. */
function accumulate64(acc: number, g: number, v: number): number[] {
  const addr = [...op.get(acc), ...op.get(g), ...op.i32Add, ...op.get(g), ...op.i32Add];
  return [
    ...addr, ...addr, ...op.loadAt(0), ...op.get(v), ...simdOp.promote, ...simdOp.add64, ...op.storeAt(0),
    ...addr, ...addr, ...op.loadAt(16), ...op.get(v), ...op.get(v), ...simdOp.shuffle(HIGH_HALF), ...simdOp.promote, ...simdOp.add64, ...op.storeAt(16),
  ];
}

// Parameters: 0 x, 1 acc, 2 pixels, 3 pixelBytes. Locals: 4 i, 5 g (i32); 6 v (v128). acc[c] += x[p, c].
export function channelSumBody(): number[] {
  const body = [...groupAt(0, 5), ...op.load, ...op.set(6), ...accumulate64(1, 5, 6)];
  return withLocals([[2, I32], [1, V128]], perPixelGroups(2, 3, 4, 5, [0], body));
}

// Parameters: 0 x, 1 mean, 2 acc, 3 pixels, 4 pixelBytes. Locals: 5 i, 6 g (i32); 7 v (v128).
// acc[c] += (x[p, c] - mean[c])² with the difference and the square in float32.
export function channelDevSquareSumBody(): number[] {
  const body = [
    ...groupAt(0, 6), ...op.load, ...groupAt(1, 6), ...op.load, ...op.sub, ...op.tee(7), ...op.get(7), ...op.mul, ...op.set(7),
    ...accumulate64(2, 6, 7),
  ];
  return withLocals([[2, I32], [1, V128]], perPixelGroups(3, 4, 5, 6, [0], body));
}

// Parameters: 0 z, 1 xhat, 2 y, 3 mean, 4 std, 5 gamma, 6 beta, 7 pixels, 8 pixelBytes. Locals: 9 i,
// 10 g (i32); 11 v (v128). xhat = (z - mean) / std, y = xhat·gamma + beta, in float32.
export function bnNormalizeBody(): number[] {
  const body = [
    ...groupAt(0, 10), ...op.load, ...groupAt(3, 10), ...op.load, ...op.sub, ...groupAt(4, 10), ...op.load, ...op.div, ...op.set(11),
    ...groupAt(1, 10), ...op.get(11), ...op.store,
    ...groupAt(2, 10), ...op.get(11), ...groupAt(5, 10), ...op.load, ...op.mul, ...groupAt(6, 10), ...op.load, ...op.add, ...op.store,
  ];
  return withLocals([[2, I32], [1, V128]], perPixelGroups(7, 8, 9, 10, [0, 1, 2], body));
}

// Parameters: 0 dy, 1 xhat, 2 accDy, 3 accDyX, 4 pixels, 5 pixelBytes. Locals: 6 i, 7 g (i32); 8 d,
// 9 t (v128). accDy[c] += dy, accDyX[c] += dy·xhat (the product in float32).
export function bnGradSumsBody(): number[] {
  const body = [
    ...groupAt(0, 7), ...op.load, ...op.tee(8), ...groupAt(1, 7), ...op.load, ...op.mul, ...op.set(9),
    ...accumulate64(2, 7, 8),
    ...accumulate64(3, 7, 9),
  ];
  return withLocals([[2, I32], [2, V128]], perPixelGroups(4, 5, 6, 7, [0, 1], body));
}

// Parameters: 0 dy, 1 xhat, 2 dz, 3 coef (a, b, k: three runs of pixelBytes), 4 pixels, 5 pixelBytes.
// Locals: 6 i, 7 g, 8 cg (i32). dz = ((dy - a) - xhat·b)·k per channel, in float32.
export function bnGradOutBody(): number[] {
  const coefAt = (run: number) => [...op.get(3), ...op.get(7), ...op.i32Add, ...Array.from({ length: run }, () => [...op.get(5), ...op.i32Add]).flat(), ...op.load];
  const body = [
    ...groupAt(2, 7),
    ...groupAt(0, 7), ...op.load, ...coefAt(0), ...op.sub,
    ...groupAt(1, 7), ...op.load, ...coefAt(1), ...op.mul, ...op.sub,
    ...coefAt(2), ...op.mul,
    ...op.store,
  ];
  return withLocals([[3, I32]], perPixelGroups(4, 5, 6, 7, [0, 1, 2], body));
}
