// Bodies of the fake-quant loops (fake-quant.ts) and of the weight-range abs-max (abs-max.ts).
import { u32, vec, I32, V128, op, simdOp, HIGH_HALF, JOIN_LOW, sleb } from './assembler.js';

// Fake-quant (fake-quant.ts), four elements a step, per-lane parameters read from a table of groups
// (FQ_GROUP bytes per four lanes) that repeats with the channel layout's period:
//   0 lo f32x4, 16 hi f32x4 (nudged range), 32/48 lo as f64x2 (lanes 0–1, 2–3), 64/80 divisor,
//   96/112 multiplier, 128/144 offset (qmin - zeroPoint), 160/176 sum of dy below, 192/208 above.
// Forward: y = f32((floor((clamp(x) - lo) / div + 0.5) + offset) · mul) in f64x2 lanes: IEEE double
// sub/div/add/floor/mul, then one rounding to float32, exactly core's fakeQuantMath (a scale-0
// channel has div 1, mul 0, offset 0: +0.0). The clamp is f32x4.pmax/pmin, which are the reference's
// `v < lo ? lo : v` and `v > hi ? hi : v` on the same float32 values. The gradients only compare
// float32 values with float32 bounds, so f32x4 compares give the reference's bits.
export const FQ_GROUP = 224;
/** The loop shared by the three: while (i < bytes) { body; i += 16; tp += FQ_GROUP, wrapping at end }. */
function fqLoop(i: number, bytes: number, tp: number, table: number, end: number, body: number[]): number[] {
  return [
    0x02, 0x40, 0x03, 0x40,
    ...op.get(i), ...op.get(bytes), ...op.i32GeU, 0x0d, 0x01,
    ...body,
    ...op.get(i), ...op.i32Const(16), ...op.i32Add, ...op.set(i),
    ...op.get(tp), 0x41, ...sleb(FQ_GROUP), ...op.i32Add, ...op.set(tp),
    ...op.get(table), ...op.get(tp), ...op.get(tp), ...op.get(end), ...op.i32GeU, ...simdOp.select, ...op.set(tp),
    0x0c, 0x00, 0x0b, 0x0b,
  ];
}

// Parameters: 0 x, 1 out, 2 bytes (a multiple of 16), 3 table, 4 tableEnd. Locals: 5 i, 6 tp (i32);
// 7 v, 8 c, 9 acc, 10 half, 11 r0 (v128). Returns 1 when some x is NaN or ±Inf (x - x is not 0).
export function fqForwardBody(): number[] {
  const half = (h: number, c64: number[]) => [
    ...c64, ...op.get(6), ...op.loadAt(32 + 16 * h), ...simdOp.sub64,
    ...op.get(6), ...op.loadAt(64 + 16 * h), ...simdOp.div64,
    ...op.get(10), ...simdOp.add64, ...simdOp.floor64,
    ...op.get(6), ...op.loadAt(128 + 16 * h), ...simdOp.add64,
    ...op.get(6), ...op.loadAt(96 + 16 * h), ...simdOp.mul64,
    ...simdOp.demote,
  ];
  const body = [
    ...op.get(0), ...op.get(5), ...op.i32Add, ...op.load, ...op.tee(7),
    ...op.get(7), ...op.sub, ...op.get(9), ...op.add, ...op.set(9),
    ...op.get(7), ...op.get(6), ...op.loadAt(0), ...simdOp.pmax, ...op.get(6), ...op.loadAt(16), ...simdOp.pmin, ...op.set(8),
    ...half(0, [...op.get(8), ...simdOp.promote]), ...op.set(11),
    ...op.get(1), ...op.get(5), ...op.i32Add,
    ...op.get(11),
    ...half(1, [...op.get(8), ...op.get(8), ...simdOp.shuffle(HIGH_HALF), ...simdOp.promote]),
    ...simdOp.shuffle(JOIN_LOW),
    ...op.store,
  ];
  const code = [
    ...op.get(3), ...op.set(6),
    ...simdOp.f64Const(0.5), ...simdOp.f64Splat, ...op.set(10),
    ...fqLoop(5, 2, 6, 3, 4, body),
    ...op.get(9), ...op.get(9), ...simdOp.ne, ...simdOp.anyTrue,
    0x0b,
  ];
  const locals = vec([[2, I32], [5, V128]]);
  const all = [...locals, ...code];
  return [...u32(all.length), ...all];
}

// Parameters: 0 x, 1 dy, 2 out, 3 bytes, 4 table, 5 tableEnd. Locals: 6 i, 7 tp (i32); 8 v (v128).
// out = dy where lo <= x <= hi, else +0.
export function fqGradBody(): number[] {
  const body = [
    ...op.get(2), ...op.get(6), ...op.i32Add,
    ...op.get(1), ...op.get(6), ...op.i32Add, ...op.load,
    ...op.get(0), ...op.get(6), ...op.i32Add, ...op.load, ...op.tee(8),
    ...op.get(7), ...op.loadAt(0), ...simdOp.lt,
    ...op.get(8), ...op.get(7), ...op.loadAt(16), ...simdOp.gt,
    ...simdOp.or, ...simdOp.andnot,
    ...op.store,
  ];
  const code = [...op.get(4), ...op.set(7), ...fqLoop(6, 3, 7, 4, 5, body), 0x0b];
  const all = [...vec([[2, I32], [1, V128]]), ...code];
  return [...u32(all.length), ...all];
}

// Parameters: 0 x, 1 dy, 2 bytes, 3 table, 4 tableEnd. Locals: 5 i, 6 tp (i32); 7 v, 8 g, 9 m (v128).
// Adds dy where x < lo (x > hi) into the table's float64 sums, per lane position.
export function fqRangeGradBody(): number[] {
  const accumulate = (at: number) => [
    ...op.get(6), ...op.get(6), ...op.loadAt(at), ...op.get(9), ...simdOp.promote, ...simdOp.add64, ...op.storeAt(at),
    ...op.get(6), ...op.get(6), ...op.loadAt(at + 16), ...op.get(9), ...op.get(9), ...simdOp.shuffle(HIGH_HALF), ...simdOp.promote, ...simdOp.add64, ...op.storeAt(at + 16),
  ];
  const body = [
    ...op.get(0), ...op.get(5), ...op.i32Add, ...op.load, ...op.set(7),
    ...op.get(1), ...op.get(5), ...op.i32Add, ...op.load, ...op.set(8),
    ...op.get(8), ...op.get(7), ...op.get(6), ...op.loadAt(0), ...simdOp.lt, ...simdOp.and, ...op.set(9),
    ...accumulate(160),
    ...op.get(8), ...op.get(7), ...op.get(6), ...op.loadAt(16), ...simdOp.gt, ...simdOp.and, ...op.set(9),
    ...accumulate(192),
  ];
  const code = [...op.get(3), ...op.set(6), ...fqLoop(5, 2, 6, 3, 4, body), 0x0b];
  const all = [...vec([[2, I32], [3, V128]]), ...code];
  return [...u32(all.length), ...all];
}

// Parameters: 0 x, 1 bytes (a multiple of 16), 2 acc, 3 accEnd. Locals: 4 i, 5 tp (i32).
// acc[tp] = f32x4.max(acc[tp], |x[i]|), tp stepping 16 bytes and wrapping at accEnd: per lane position,
// max|x| (NaN if any NaN: f32x4.max propagates it; |x| has no -0, so ties are equal bits).
export function absMaxBody(): number[] {
  const body = [
    ...op.get(5),
    ...op.get(5), ...op.load,
    ...op.get(0), ...op.get(4), ...op.i32Add, ...op.load, ...simdOp.abs,
    ...simdOp.max,
    ...op.store,
  ];
  const code = [
    ...op.get(2), ...op.set(5),
    0x02, 0x40, 0x03, 0x40,
    ...op.get(4), ...op.get(1), ...op.i32GeU, 0x0d, 0x01,
    ...body,
    ...op.get(4), ...op.i32Const(16), ...op.i32Add, ...op.set(4),
    ...op.get(5), ...op.i32Const(16), ...op.i32Add, ...op.set(5),
    ...op.get(2), ...op.get(5), ...op.get(5), ...op.get(3), ...op.i32GeU, ...simdOp.select, ...op.set(5),
    0x0c, 0x00, 0x0b, 0x0b,
    0x0b,
  ];
  const all = [...vec([[2, I32]]), ...code];
  return [...u32(all.length), ...all];
}
