// Bodies of the training loops: the Adam update, a max-pool window's gradient, a filter-gradient row,
// a strided add (simd.ts lists what each is for).
import { u32, vec, I32, V128, op, i32x4 } from './assembler.js';

// Parameters: 0 w, 1 m, 2 v, 3 g, 4 wo, 5 mo, 6 vo, 7 bytes (i32); 8 b1, 9 b2, 10 c1, 11 c2, 12 step, 13 eps (f32).
// Locals: 14 i (i32); 15 B1, 16 B2, 17 C1, 18 C2, 19 STEP, 20 EPS, 21 G, 22 M1, 23 V1 (v128).
export function adamBody(): number[] {
  const at = (base: number) => [...op.get(base), ...op.get(14), ...op.i32Add];
  const code = [
    ...[8, 9, 10, 11, 12, 13].flatMap((p, k) => [...op.get(p), ...op.splat, ...op.set(15 + k)]),
    0x02, 0x40, // block
    0x03, 0x40, // loop
    ...op.get(14), ...op.get(7), ...op.i32GeU, 0x0d, 0x01, // br_if 1 when i >= bytes
    ...at(3), ...op.load, ...op.set(21),
    // m1 = m·b1 + g·c1
    ...at(1), ...op.load, ...op.get(15), ...op.mul, ...op.get(21), ...op.get(17), ...op.mul, ...op.add, ...op.set(22),
    ...at(5), ...op.get(22), ...op.store,
    // v1 = v·b2 + (g·g)·c2
    ...at(2), ...op.load, ...op.get(16), ...op.mul, ...op.get(21), ...op.get(21), ...op.mul, ...op.get(18), ...op.mul, ...op.add, ...op.set(23),
    ...at(6), ...op.get(23), ...op.store,
    // w1 = w - step·(m1 / (sqrt(v1) + eps))
    ...at(4),
    ...at(0), ...op.load, ...op.get(19), ...op.get(22), ...op.get(23), ...op.sqrt, ...op.get(20), ...op.add, ...op.div, ...op.mul, ...op.sub,
    ...op.store,
    ...op.get(14), ...op.i32Const(16), ...op.i32Add, ...op.set(14),
    0x0c, 0x00, // br 0
    0x0b, // end loop
    0x0b, // end block
    0x0b, // end function
  ];
  const locals = vec([[1, I32], [9, V128]]);
  const body = [...locals, ...code];
  return [...u32(body.length), ...body];
}

// Parameters: 0 x (byte address of the window's first tap, channel 0), 1 dxDelta (dx address - x
// address), 2 dy (byte address of the window's dy, channel 0), 3 rows, 4 cols, 5 rowBytes, 6 pixelBytes
// (channels·4, a multiple of 16). Locals: 7 g, 8 r, 9 c, 10 rowPtr, 11 p, 12 a (i32); 13 best, 14 idx, 15 v, 16 gt (v128).
export function maxPoolBody(): number[] {
  const negInf = [...new Uint8Array(Float32Array.from([-Infinity, -Infinity, -Infinity, -Infinity]).buffer)];
  const loopWhile = (counter: number, limit: number, body: number[]) => [
    0x02, 0x40, 0x03, 0x40,
    ...op.get(counter), ...op.get(limit), ...op.i32GeS, 0x0d, 0x01,
    ...body,
    0x0c, 0x00, 0x0b, 0x0b,
  ];
  const scatter = [0, 1, 2, 3].flatMap((lane) => [
    ...op.get(14), ...op.extractI32(lane), ...op.tee(12), ...op.i32Const(0), ...op.i32GeS,
    0x04, 0x40, // if a >= 0: dx[a] += dy[g + lane]
    ...op.get(12), ...op.get(1), ...op.i32Add,
    ...op.get(12), ...op.get(1), ...op.i32Add, ...op.f32Load(0),
    ...op.get(2), ...op.get(7), ...op.i32Add, ...op.f32Load(lane * 4),
    ...op.f32Add, ...op.f32Store,
    0x0b,
  ]);
  const cols = loopWhile(9, 4, [
    ...op.get(11), ...op.load, ...op.set(15),
    ...op.get(15), ...op.get(13), ...op.gt, ...op.set(16),
    ...op.get(15), ...op.get(13), ...op.get(16), ...op.bitselect, ...op.set(13),
    ...op.get(11), ...op.i32Splat, ...op.v128Const(i32x4([0, 4, 8, 12])), ...op.i32x4Add, ...op.get(14), ...op.get(16), ...op.bitselect, ...op.set(14),
    ...op.get(11), ...op.get(6), ...op.i32Add, ...op.set(11),
    ...op.get(9), ...op.i32Const(1), ...op.i32Add, ...op.set(9),
  ]);
  const rows = loopWhile(8, 3, [
    ...op.get(10), ...op.set(11), ...op.i32Const(0), ...op.set(9),
    ...cols,
    ...op.get(10), ...op.get(5), ...op.i32Add, ...op.set(10),
    ...op.get(8), ...op.i32Const(1), ...op.i32Add, ...op.set(8),
  ]);
  const groups = loopWhile(7, 6, [
    ...op.v128Const(negInf), ...op.set(13),
    ...op.v128Const(i32x4([-1, -1, -1, -1])), ...op.set(14),
    ...op.get(0), ...op.get(7), ...op.i32Add, ...op.set(10),
    ...op.i32Const(0), ...op.set(8),
    ...rows,
    ...scatter,
    ...op.get(7), ...op.i32Const(16), ...op.i32Add, ...op.set(7),
  ]);
  const body = [...vec([[6, I32], [4, V128]]), ...groups, 0x0b];
  return [...u32(body.length), ...body];
}

// Parameters: 0 x (byte address), 1 xStride (bytes), 2 dy (byte address), 3 dyStride (bytes), 4 n, 5 out
// (byte address of 16 floats). Locals: 6 i (i32); 7–10 acc, 11 s (v128).
// out[0..16) = Σ_{i<n} x[i·xStride] · dy[i·dyStride + 0..16): a row of a filter gradient, 16 channels.
export function dotRows16Body(): number[] {
  const code = [
    0x02, 0x40, 0x03, 0x40,
    ...op.get(6), ...op.get(4), ...op.i32GeS, 0x0d, 0x01,
    ...op.get(0), ...op.f32Load(0), ...op.splat, ...op.set(11),
    ...[0, 1, 2, 3].flatMap((k) => [
      ...op.get(7 + k), ...op.get(11), ...op.get(2), ...op.loadAt(16 * k), ...op.mul, ...op.add, ...op.set(7 + k),
    ]),
    ...op.get(0), ...op.get(1), ...op.i32Add, ...op.set(0),
    ...op.get(2), ...op.get(3), ...op.i32Add, ...op.set(2),
    ...op.get(6), ...op.i32Const(1), ...op.i32Add, ...op.set(6),
    0x0c, 0x00, 0x0b, 0x0b,
    ...[0, 1, 2, 3].flatMap((k) => [...op.get(5), ...op.get(7 + k), ...op.storeAt(16 * k)]),
    0x0b,
  ];
  const body = [...vec([[1, I32], [5, V128]]), ...code];
  return [...u32(body.length), ...body];
}

// Parameters: 0 dst, 1 dstStride, 2 src, 3 srcStride (bytes), 4 n. Local: 5 i.
// dst[i·dstStride] += src[i·srcStride] for i < n (float32): the scatter of an input gradient's columns.
export function addStridedBody(): number[] {
  const code = [
    0x02, 0x40, 0x03, 0x40,
    ...op.get(5), ...op.get(4), ...op.i32GeS, 0x0d, 0x01,
    ...op.get(0),
    ...op.get(0), ...op.f32Load(0), ...op.get(2), ...op.f32Load(0), ...op.f32Add,
    ...op.f32Store,
    ...op.get(0), ...op.get(1), ...op.i32Add, ...op.set(0),
    ...op.get(2), ...op.get(3), ...op.i32Add, ...op.set(2),
    ...op.get(5), ...op.i32Const(1), ...op.i32Add, ...op.set(5),
    0x0c, 0x00, 0x0b, 0x0b,
    0x0b,
  ];
  const body = [...vec([[1, I32]]), ...code];
  return [...u32(body.length), ...body];
}
