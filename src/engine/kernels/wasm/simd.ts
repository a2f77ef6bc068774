// Hot loops as WebAssembly SIMD that run on the TF.js WASM heap itself: a small module assembled here
// byte by byte and instantiated on the memory the WASM backend exports, so it reads and writes tensors
// in place. (No toolchain is needed; the bytes are checked by WebAssembly.Module, the results by the
// engine tests against the CPU backend.)
//
// adam: f32x4 add/sub/mul/div/sqrt are IEEE float32 operations, the ones the op-by-op form's kernels
// perform, in the same order: the same bits. A JavaScript loop with Math.fround after every operation
// (to get those bits) ran ≈ 4 ms per mlp update; this ≈ 0.5 ms.
// maxPoolWindow: one pooling window, four channels per step: the first strict maximum of each channel
// (the CPU backend's rule) gets the window's dy added.
// affine: (x - mean)·factor + offset per channel, for batch norm.
// addStrided: a strided float32 add (scalar), the scatter of an input gradient's columns.
// add/sub/subFrom/mul/div/divInto: a tensor with a per-channel vector (the same f32x4 operations
// XNNPACK's broadcasting kernels run, so the same bits).
// absMax: max|x| per lane position of a repeating table (weight ranges, abs-max.ts).
// dotRows16: one input channel's row of taps against 16 output channels of dy, for filter gradients
// of convolutions with few input channels.

// The WebAssembly API as far as this file uses it (the project's TypeScript libs do not declare it).
interface WasmMemory {
  readonly buffer: ArrayBuffer;
}
interface WasmApi {
  Memory: abstract new (...args: never[]) => WasmMemory;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}
const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** Unsigned LEB128. */
function u32(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

function section(id: number, body: number[]): number[] {
  return [id, ...u32(body.length), ...body];
}

function vec(items: number[][]): number[] {
  return [...u32(items.length), ...items.flat()];
}

function name(s: string): number[] {
  const bytes = [...new TextEncoder().encode(s)];
  return [...u32(bytes.length), ...bytes];
}

const I32 = 0x7f;
const F32 = 0x7d;
const V128 = 0x7b;

const op = {
  get: (i: number) => [0x20, ...u32(i)],
  set: (i: number) => [0x21, ...u32(i)],
  i32Add: [0x6a],
  i32GeU: [0x4f],
  i32Const: (n: number) => [0x41, ...u32(n)], // small non-negative constants only (< 64)
  tee: (i: number) => [0x22, ...u32(i)],
  i32GeS: [0x4e],
  f32Load: (offset: number) => [0x2a, 0x00, ...u32(offset)],
  f32Store: [0x38, 0x00, 0x00],
  f32Add: [0x92],
  v128Const: (bytes: number[]) => [0xfd, 0x0c, ...bytes],
  gt: [0xfd, 0x44], // f32x4.gt
  bitselect: [0xfd, 0x52],
  i32Splat: [0xfd, 0x11],
  i32x4Add: [0xfd, 0xae, 0x01],
  extractI32: (lane: number) => [0xfd, 0x1b, lane],
  load: [0xfd, 0x00, 0x00, 0x00], // v128.load align=1 offset=0
  store: [0xfd, 0x0b, 0x00, 0x00],
  loadAt: (offset: number) => [0xfd, 0x00, 0x00, ...u32(offset)],
  storeAt: (offset: number) => [0xfd, 0x0b, 0x00, ...u32(offset)],
  splat: [0xfd, 0x13], // f32x4.splat
  sqrt: [0xfd, 0xe3, 0x01],
  add: [0xfd, 0xe4, 0x01],
  sub: [0xfd, 0xe5, 0x01],
  mul: [0xfd, 0xe6, 0x01],
  div: [0xfd, 0xe7, 0x01],
};

// Parameters: 0 w, 1 m, 2 v, 3 g, 4 wo, 5 mo, 6 vo, 7 bytes (i32); 8 b1, 9 b2, 10 c1, 11 c2, 12 step, 13 eps (f32).
// Locals: 14 i (i32); 15 B1, 16 B2, 17 C1, 18 C2, 19 STEP, 20 EPS, 21 G, 22 M1, 23 V1 (v128).
function adamBody(): number[] {
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

function i32x4(values: number[]): number[] {
  return [...new Uint8Array(Int32Array.from(values).buffer)];
}

// Parameters: 0 x (byte address of the window's first tap, channel 0), 1 dxDelta (dx address - x
// address), 2 dy (byte address of the window's dy, channel 0), 3 rows, 4 cols, 5 rowBytes, 6 pixelBytes
// (channels·4, a multiple of 16). Locals: 7 g, 8 r, 9 c, 10 rowPtr, 11 p, 12 a (i32); 13 best, 14 idx, 15 v, 16 gt (v128).
function maxPoolBody(): number[] {
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
function dotRows16Body(): number[] {
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

// Parameters: 0 x, 1 out, 2 params (byte addresses; params holds mean, factor, offset: three runs of
// pixelBytes), 3 pixels, 4 pixelBytes (channels·4, a multiple of 16). Locals: 5 i, 6 g (i32).
// out = (x - mean)·factor + offset per channel, four channels a step.
function affineBody(): number[] {
  const inner = [
    0x02, 0x40, 0x03, 0x40,
    ...op.get(6), ...op.get(4), ...op.i32GeS, 0x0d, 0x01,
    ...op.get(1), ...op.get(6), ...op.i32Add,
    ...op.get(0), ...op.get(6), ...op.i32Add, ...op.load,
    ...op.get(2), ...op.get(6), ...op.i32Add, ...op.load, ...op.sub,
    ...op.get(2), ...op.get(6), ...op.i32Add, ...op.get(4), ...op.i32Add, ...op.load, ...op.mul,
    ...op.get(2), ...op.get(6), ...op.i32Add, ...op.get(4), ...op.i32Add, ...op.get(4), ...op.i32Add, ...op.load, ...op.add,
    ...op.store,
    ...op.get(6), ...op.i32Const(16), ...op.i32Add, ...op.set(6),
    0x0c, 0x00, 0x0b, 0x0b,
  ];
  const code = [
    0x02, 0x40, 0x03, 0x40,
    ...op.get(5), ...op.get(3), ...op.i32GeS, 0x0d, 0x01,
    ...op.i32Const(0), ...op.set(6),
    ...inner,
    ...op.get(0), ...op.get(4), ...op.i32Add, ...op.set(0),
    ...op.get(1), ...op.get(4), ...op.i32Add, ...op.set(1),
    ...op.get(5), ...op.i32Const(1), ...op.i32Add, ...op.set(5),
    0x0c, 0x00, 0x0b, 0x0b,
    0x0b,
  ];
  const body = [...vec([[2, I32]]), ...code];
  return [...u32(body.length), ...body];
}

// Parameters: 0 dst, 1 dstStride, 2 src, 3 srcStride (bytes), 4 n. Local: 5 i.
// dst[i·dstStride] += src[i·srcStride] for i < n (float32): the scatter of an input gradient's columns.
function addStridedBody(): number[] {
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
function channelOpBody(opcode: readonly number[], vectorFirst: boolean): number[] {
  const xv = [...op.get(0), ...op.get(6), ...op.i32Add, ...op.load];
  const vv = [...op.get(1), ...op.get(6), ...op.i32Add, ...op.load];
  const inner = [
    0x02, 0x40, 0x03, 0x40,
    ...op.get(6), ...op.get(4), ...op.i32GeS, 0x0d, 0x01,
    ...op.get(2), ...op.get(6), ...op.i32Add,
    ...(vectorFirst ? [...vv, ...xv] : [...xv, ...vv]), ...opcode,
    ...op.store,
    ...op.get(6), ...op.i32Const(16), ...op.i32Add, ...op.set(6),
    0x0c, 0x00, 0x0b, 0x0b,
  ];
  const code = [
    0x02, 0x40, 0x03, 0x40,
    ...op.get(5), ...op.get(3), ...op.i32GeS, 0x0d, 0x01,
    ...op.i32Const(0), ...op.set(6),
    ...inner,
    ...op.get(0), ...op.get(4), ...op.i32Add, ...op.set(0),
    ...op.get(2), ...op.get(4), ...op.i32Add, ...op.set(2),
    ...op.get(5), ...op.i32Const(1), ...op.i32Add, ...op.set(5),
    0x0c, 0x00, 0x0b, 0x0b,
    0x0b,
  ];
  const body = [...vec([[2, I32]]), ...code];
  return [...u32(body.length), ...body];
}

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
const fqOp = {
  shuffle: (lanes: number[]) => [0xfd, 0x0d, ...lanes],
  f64Splat: [0xfd, 0x14],
  ne: [0xfd, 0x42],
  lt: [0xfd, 0x43],
  gt: [0xfd, 0x44],
  and: [0xfd, 0x4e],
  andnot: [0xfd, 0x4f],
  or: [0xfd, 0x50],
  anyTrue: [0xfd, 0x53],
  demote: [0xfd, 0x5e],
  promote: [0xfd, 0x5f],
  floor64: [0xfd, 0x75],
  pmin: [0xfd, 0xea, 0x01],
  pmax: [0xfd, 0xeb, 0x01],
  add64: [0xfd, 0xf0, 0x01],
  sub64: [0xfd, 0xf1, 0x01],
  mul64: [0xfd, 0xf2, 0x01],
  div64: [0xfd, 0xf3, 0x01],
  f64Const: (v: number) => [0x44, ...new Uint8Array(Float64Array.from([v]).buffer)],
  select: [0x1b],
  abs: [0xfd, 0xe0, 0x01], // f32x4.abs
  max: [0xfd, 0xe9, 0x01], // f32x4.max
};
const HIGH_HALF = [8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15];
const JOIN_LOW = [0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23];

/** The loop shared by the three: while (i < bytes) { body; i += 16; tp += FQ_GROUP, wrapping at end }. */
function fqLoop(i: number, bytes: number, tp: number, table: number, end: number, body: number[]): number[] {
  return [
    0x02, 0x40, 0x03, 0x40,
    ...op.get(i), ...op.get(bytes), ...op.i32GeU, 0x0d, 0x01,
    ...body,
    ...op.get(i), ...op.i32Const(16), ...op.i32Add, ...op.set(i),
    ...op.get(tp), 0x41, ...sleb(FQ_GROUP), ...op.i32Add, ...op.set(tp),
    ...op.get(table), ...op.get(tp), ...op.get(tp), ...op.get(end), ...op.i32GeU, ...fqOp.select, ...op.set(tp),
    0x0c, 0x00, 0x0b, 0x0b,
  ];
}

/** Signed LEB128 for non-negative i32 constants. */
function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if (n === 0 && (byte & 0x40) === 0) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

// Parameters: 0 x, 1 out, 2 bytes (a multiple of 16), 3 table, 4 tableEnd. Locals: 5 i, 6 tp (i32);
// 7 v, 8 c, 9 acc, 10 half, 11 r0 (v128). Returns 1 when some x is NaN or ±Inf (x - x is not 0).
function fqForwardBody(): number[] {
  const half = (h: number, c64: number[]) => [
    ...c64, ...op.get(6), ...op.loadAt(32 + 16 * h), ...fqOp.sub64,
    ...op.get(6), ...op.loadAt(64 + 16 * h), ...fqOp.div64,
    ...op.get(10), ...fqOp.add64, ...fqOp.floor64,
    ...op.get(6), ...op.loadAt(128 + 16 * h), ...fqOp.add64,
    ...op.get(6), ...op.loadAt(96 + 16 * h), ...fqOp.mul64,
    ...fqOp.demote,
  ];
  const body = [
    ...op.get(0), ...op.get(5), ...op.i32Add, ...op.load, ...op.tee(7),
    ...op.get(7), ...op.sub, ...op.get(9), ...op.add, ...op.set(9),
    ...op.get(7), ...op.get(6), ...op.loadAt(0), ...fqOp.pmax, ...op.get(6), ...op.loadAt(16), ...fqOp.pmin, ...op.set(8),
    ...half(0, [...op.get(8), ...fqOp.promote]), ...op.set(11),
    ...op.get(1), ...op.get(5), ...op.i32Add,
    ...op.get(11),
    ...half(1, [...op.get(8), ...op.get(8), ...fqOp.shuffle(HIGH_HALF), ...fqOp.promote]),
    ...fqOp.shuffle(JOIN_LOW),
    ...op.store,
  ];
  const code = [
    ...op.get(3), ...op.set(6),
    ...fqOp.f64Const(0.5), ...fqOp.f64Splat, ...op.set(10),
    ...fqLoop(5, 2, 6, 3, 4, body),
    ...op.get(9), ...op.get(9), ...fqOp.ne, ...fqOp.anyTrue,
    0x0b,
  ];
  const locals = vec([[2, I32], [5, V128]]);
  const all = [...locals, ...code];
  return [...u32(all.length), ...all];
}

// Parameters: 0 x, 1 dy, 2 out, 3 bytes, 4 table, 5 tableEnd. Locals: 6 i, 7 tp (i32); 8 v (v128).
// out = dy where lo <= x <= hi, else +0.
function fqGradBody(): number[] {
  const body = [
    ...op.get(2), ...op.get(6), ...op.i32Add,
    ...op.get(1), ...op.get(6), ...op.i32Add, ...op.load,
    ...op.get(0), ...op.get(6), ...op.i32Add, ...op.load, ...op.tee(8),
    ...op.get(7), ...op.loadAt(0), ...fqOp.lt,
    ...op.get(8), ...op.get(7), ...op.loadAt(16), ...fqOp.gt,
    ...fqOp.or, ...fqOp.andnot,
    ...op.store,
  ];
  const code = [...op.get(4), ...op.set(7), ...fqLoop(6, 3, 7, 4, 5, body), 0x0b];
  const all = [...vec([[2, I32], [1, V128]]), ...code];
  return [...u32(all.length), ...all];
}

// Parameters: 0 x, 1 dy, 2 bytes, 3 table, 4 tableEnd. Locals: 5 i, 6 tp (i32); 7 v, 8 g, 9 m (v128).
// Adds dy where x < lo (x > hi) into the table's float64 sums, per lane position.
function fqRangeGradBody(): number[] {
  const accumulate = (at: number) => [
    ...op.get(6), ...op.get(6), ...op.loadAt(at), ...op.get(9), ...fqOp.promote, ...fqOp.add64, ...op.storeAt(at),
    ...op.get(6), ...op.get(6), ...op.loadAt(at + 16), ...op.get(9), ...op.get(9), ...fqOp.shuffle(HIGH_HALF), ...fqOp.promote, ...fqOp.add64, ...op.storeAt(at + 16),
  ];
  const body = [
    ...op.get(0), ...op.get(5), ...op.i32Add, ...op.load, ...op.set(7),
    ...op.get(1), ...op.get(5), ...op.i32Add, ...op.load, ...op.set(8),
    ...op.get(8), ...op.get(7), ...op.get(6), ...op.loadAt(0), ...fqOp.lt, ...fqOp.and, ...op.set(9),
    ...accumulate(160),
    ...op.get(8), ...op.get(7), ...op.get(6), ...op.loadAt(16), ...fqOp.gt, ...fqOp.and, ...op.set(9),
    ...accumulate(192),
  ];
  const code = [...op.get(3), ...op.set(6), ...fqLoop(5, 2, 6, 3, 4, body), 0x0b];
  const all = [...vec([[2, I32], [3, V128]]), ...code];
  return [...u32(all.length), ...all];
}

// Parameters: 0 x, 1 bytes (a multiple of 16), 2 acc, 3 accEnd. Locals: 4 i, 5 tp (i32).
// acc[tp] = f32x4.max(acc[tp], |x[i]|), tp stepping 16 bytes and wrapping at accEnd: per lane position,
// max|x| (NaN if any NaN: f32x4.max propagates it; |x| has no -0, so ties are equal bits).
function absMaxBody(): number[] {
  const body = [
    ...op.get(5),
    ...op.get(5), ...op.load,
    ...op.get(0), ...op.get(4), ...op.i32Add, ...op.load, ...fqOp.abs,
    ...fqOp.max,
    ...op.store,
  ];
  const code = [
    ...op.get(2), ...op.set(5),
    0x02, 0x40, 0x03, 0x40,
    ...op.get(4), ...op.get(1), ...op.i32GeU, 0x0d, 0x01,
    ...body,
    ...op.get(4), ...op.i32Const(16), ...op.i32Add, ...op.set(4),
    ...op.get(5), ...op.i32Const(16), ...op.i32Add, ...op.set(5),
    ...op.get(2), ...op.get(5), ...op.get(5), ...op.get(3), ...op.i32GeU, ...fqOp.select, ...op.set(5),
    0x0c, 0x00, 0x0b, 0x0b,
    0x0b,
  ];
  const all = [...vec([[2, I32]]), ...code];
  return [...u32(all.length), ...all];
}

// Training-mode batch norm (bn-training.ts): per-pixel loops over the channel groups of four, the
// per-channel sums in float64 (f32x4 promoted to two f64x2) down the rows, as reduce-leading.ts sums.

/** for (i = 0; i < pixels; i++) { for (g = 0; g < pixelBytes; g += 16) body; each of `advance` += pixelBytes }. */
function perPixelGroups(pixels: number, pixelBytes: number, i: number, g: number, advance: number[], body: number[]): number[] {
  return [
    0x02, 0x40, 0x03, 0x40,
    ...op.get(i), ...op.get(pixels), ...op.i32GeS, 0x0d, 0x01,
    ...op.i32Const(0), ...op.set(g),
    0x02, 0x40, 0x03, 0x40,
    ...op.get(g), ...op.get(pixelBytes), ...op.i32GeS, 0x0d, 0x01,
    ...body,
    ...op.get(g), ...op.i32Const(16), ...op.i32Add, ...op.set(g),
    0x0c, 0x00, 0x0b, 0x0b,
    ...advance.flatMap((p) => [...op.get(p), ...op.get(pixelBytes), ...op.i32Add, ...op.set(p)]),
    ...op.get(i), ...op.i32Const(1), ...op.i32Add, ...op.set(i),
    0x0c, 0x00, 0x0b, 0x0b,
  ];
}

/** Address of channel group g (local `g`) in the tensor or table at local `p`. */
const groupAt = (p: number, g: number) => [...op.get(p), ...op.get(g), ...op.i32Add];

/** The float64 accumulators of group g (32 bytes a group of four channels) += the f32x4 in local `v`. */
function accumulate64(acc: number, g: number, v: number): number[] {
  const addr = [...op.get(acc), ...op.get(g), ...op.i32Add, ...op.get(g), ...op.i32Add];
  return [
    ...addr, ...addr, ...op.loadAt(0), ...op.get(v), ...fqOp.promote, ...fqOp.add64, ...op.storeAt(0),
    ...addr, ...addr, ...op.loadAt(16), ...op.get(v), ...op.get(v), ...fqOp.shuffle(HIGH_HALF), ...fqOp.promote, ...fqOp.add64, ...op.storeAt(16),
  ];
}

const withLocals = (locals: number[][], code: number[]) => {
  const all = [...vec(locals), ...code, 0x0b];
  return [...u32(all.length), ...all];
};

// Parameters: 0 x, 1 acc, 2 pixels, 3 pixelBytes. Locals: 4 i, 5 g (i32); 6 v (v128). acc[c] += x[p, c].
function channelSumBody(): number[] {
  const body = [...groupAt(0, 5), ...op.load, ...op.set(6), ...accumulate64(1, 5, 6)];
  return withLocals([[2, I32], [1, V128]], perPixelGroups(2, 3, 4, 5, [0], body));
}

// Parameters: 0 x, 1 mean, 2 acc, 3 pixels, 4 pixelBytes. Locals: 5 i, 6 g (i32); 7 v (v128).
// acc[c] += (x[p, c] - mean[c])² with the difference and the square in float32.
function channelDevSquareSumBody(): number[] {
  const body = [
    ...groupAt(0, 6), ...op.load, ...groupAt(1, 6), ...op.load, ...op.sub, ...op.tee(7), ...op.get(7), ...op.mul, ...op.set(7),
    ...accumulate64(2, 6, 7),
  ];
  return withLocals([[2, I32], [1, V128]], perPixelGroups(3, 4, 5, 6, [0], body));
}

// Parameters: 0 z, 1 xhat, 2 y, 3 mean, 4 std, 5 gamma, 6 beta, 7 pixels, 8 pixelBytes. Locals: 9 i,
// 10 g (i32); 11 v (v128). xhat = (z - mean) / std, y = xhat·gamma + beta, in float32.
function bnNormalizeBody(): number[] {
  const body = [
    ...groupAt(0, 10), ...op.load, ...groupAt(3, 10), ...op.load, ...op.sub, ...groupAt(4, 10), ...op.load, ...op.div, ...op.set(11),
    ...groupAt(1, 10), ...op.get(11), ...op.store,
    ...groupAt(2, 10), ...op.get(11), ...groupAt(5, 10), ...op.load, ...op.mul, ...groupAt(6, 10), ...op.load, ...op.add, ...op.store,
  ];
  return withLocals([[2, I32], [1, V128]], perPixelGroups(7, 8, 9, 10, [0, 1, 2], body));
}

// Parameters: 0 dy, 1 xhat, 2 accDy, 3 accDyX, 4 pixels, 5 pixelBytes. Locals: 6 i, 7 g (i32); 8 d,
// 9 t (v128). accDy[c] += dy, accDyX[c] += dy·xhat (the product in float32).
function bnGradSumsBody(): number[] {
  const body = [
    ...groupAt(0, 7), ...op.load, ...op.tee(8), ...groupAt(1, 7), ...op.load, ...op.mul, ...op.set(9),
    ...accumulate64(2, 7, 8),
    ...accumulate64(3, 7, 9),
  ];
  return withLocals([[2, I32], [2, V128]], perPixelGroups(4, 5, 6, 7, [0, 1], body));
}

// Parameters: 0 dy, 1 xhat, 2 dz, 3 coef (a, b, k: three runs of pixelBytes), 4 pixels, 5 pixelBytes.
// Locals: 6 i, 7 g, 8 cg (i32). dz = ((dy - a) - xhat·b)·k per channel, in float32.
function bnGradOutBody(): number[] {
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

function moduleBytes(): Uint8Array {
  const adamType = [0x60, ...vec([I32, I32, I32, I32, I32, I32, I32, I32, F32, F32, F32, F32, F32, F32].map((t) => [t])), 0x00];
  const poolType = [0x60, ...vec([I32, I32, I32, I32, I32, I32, I32].map((t) => [t])), 0x00];
  const dotType = [0x60, ...vec([I32, I32, I32, I32, I32, I32].map((t) => [t])), 0x00];
  const affineType = [0x60, ...vec([I32, I32, I32, I32, I32].map((t) => [t])), 0x00];
  const addType = affineType; // five i32 parameters too
  const fqForwardType = [0x60, ...vec([I32, I32, I32, I32, I32].map((t) => [t])), ...vec([[I32]])];
  const absMaxType = [0x60, ...vec([I32, I32, I32, I32].map((t) => [t])), 0x00];
  const bnNormalizeType = [0x60, ...vec([I32, I32, I32, I32, I32, I32, I32, I32, I32].map((t) => [t])), 0x00];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec([adamType, poolType, dotType, affineType, addType, fqForwardType, absMaxType, bnNormalizeType])),
    ...section(2, vec([[...name('env'), ...name('memory'), 0x02, 0x00, 0x01]])), // memory, min 1 page, no max
    // Types: channelSum 4 i32 (6), channelDevSquareSum 5 i32 (3), bnNormalize 9 i32 (7), bnGradSums and bnGradOut 6 i32 (2).
    ...section(3, vec([[0x00], [0x01], [0x02], [0x03], [0x04], ...CHANNEL_OPS.map(() => [0x03]), [0x05], [0x02], [0x03], [0x06], [0x06], [0x03], [0x07], [0x02], [0x02]])),
    ...section(
      7,
      vec([
        [...name('adam'), 0x00, 0x00],
        [...name('maxPoolWindow'), 0x00, 0x01],
        [...name('dotRows16'), 0x00, 0x02],
        [...name('affine'), 0x00, 0x03],
        [...name('addStrided'), 0x00, 0x04],
        ...CHANNEL_OPS.map(([n], i) => [...name(n), 0x00, 5 + i]),
        [...name('fqForward'), 0x00, 5 + CHANNEL_OPS.length],
        [...name('fqGrad'), 0x00, 6 + CHANNEL_OPS.length],
        [...name('fqRangeGrad'), 0x00, 7 + CHANNEL_OPS.length],
        [...name('absMax'), 0x00, 8 + CHANNEL_OPS.length],
        [...name('channelSum'), 0x00, 9 + CHANNEL_OPS.length],
        [...name('channelDevSquareSum'), 0x00, 10 + CHANNEL_OPS.length],
        [...name('bnNormalize'), 0x00, 11 + CHANNEL_OPS.length],
        [...name('bnGradSums'), 0x00, 12 + CHANNEL_OPS.length],
        [...name('bnGradOut'), 0x00, 13 + CHANNEL_OPS.length],
      ]),
    ),
    ...section(10, vec([adamBody(), maxPoolBody(), dotRows16Body(), affineBody(), addStridedBody(), ...CHANNEL_OPS.map(([, code, first]) => channelOpBody(code, first)), fqForwardBody(), fqGradBody(), fqRangeGradBody(), absMaxBody(), channelSumBody(), channelDevSquareSumBody(), bnNormalizeBody(), bnGradSumsBody(), bnGradOutBody()])),
  ]);
}

export type SimdAdam = (
  w: number, m: number, v: number, g: number, wo: number, mo: number, vo: number, bytes: number,
  b1: number, b2: number, c1: number, c2: number, step: number, eps: number,
) => void;

export type SimdMaxPoolWindow = (x: number, dxDelta: number, dy: number, rows: number, cols: number, rowBytes: number, pixelBytes: number) => void;

export type SimdDotRows16 = (x: number, xStride: number, dy: number, dyStride: number, n: number, out: number) => void;

export type SimdAffine = (x: number, out: number, params: number, pixels: number, pixelBytes: number) => void;

export type SimdAddStrided = (dst: number, dstStride: number, src: number, srcStride: number, n: number) => void;

export type SimdChannelOp = (x: number, v: number, out: number, pixels: number, pixelBytes: number) => void;

/** Returns 1 when some input was NaN or ±Inf. */
export type SimdFqForward = (x: number, out: number, bytes: number, table: number, tableEnd: number) => number;
export type SimdFqGrad = (x: number, dy: number, out: number, bytes: number, table: number, tableEnd: number) => void;
export type SimdFqRangeGrad = (x: number, dy: number, bytes: number, table: number, tableEnd: number) => void;

/** acc (16-byte aligned, accEnd - acc a multiple of 16) lane-wise max'ed with |x| over `bytes` bytes. */
export type SimdAbsMax = (x: number, bytes: number, acc: number, accEnd: number) => void;

/** acc (float64 per channel) += x per channel, over `pixels` pixels of pixelBytes (a multiple of 16). */
export type SimdChannelSum = (x: number, acc: number, pixels: number, pixelBytes: number) => void;
/** acc (float64 per channel) += f32((x - mean)²) per channel. */
export type SimdChannelDevSquareSum = (x: number, mean: number, acc: number, pixels: number, pixelBytes: number) => void;
export type SimdBnNormalize = (z: number, xhat: number, y: number, mean: number, std: number, gamma: number, beta: number, pixels: number, pixelBytes: number) => void;
export type SimdBnGradSums = (dy: number, xhat: number, accDy: number, accDyX: number, pixels: number, pixelBytes: number) => void;
export type SimdBnGradOut = (dy: number, xhat: number, dz: number, coef: number, pixels: number, pixelBytes: number) => void;

export interface SimdKernels {
  channelSum: SimdChannelSum;
  channelDevSquareSum: SimdChannelDevSquareSum;
  bnNormalize: SimdBnNormalize;
  bnGradSums: SimdBnGradSums;
  bnGradOut: SimdBnGradOut;
  absMax: SimdAbsMax;
  fqForward: SimdFqForward;
  fqGrad: SimdFqGrad;
  fqRangeGrad: SimdFqRangeGrad;
  channelOps: Record<ChannelOp, SimdChannelOp>;
  addStrided: SimdAddStrided;
  adam: SimdAdam;
  maxPoolWindow: SimdMaxPoolWindow;
  dotRows16: SimdDotRows16;
  affine: SimdAffine;
}

const instances = new WeakMap<WasmMemory, SimdKernels | null>();

/** The SIMD loops bound to `memory`, or null where this runtime cannot compile them. */
export function simdKernelsFor(memory: WasmMemory): SimdKernels | null {
  if (instances.has(memory)) return instances.get(memory) ?? null;
  let kernels: SimdKernels | null = null;
  try {
    const instance = new WA.Instance(new WA.Module(moduleBytes()), { env: { memory } });
    kernels = {
      adam: instance.exports.adam as SimdAdam,
      maxPoolWindow: instance.exports.maxPoolWindow as SimdMaxPoolWindow,
      dotRows16: instance.exports.dotRows16 as SimdDotRows16,
      affine: instance.exports.affine as SimdAffine,
      addStrided: instance.exports.addStrided as SimdAddStrided,
      fqForward: instance.exports.fqForward as SimdFqForward,
      fqGrad: instance.exports.fqGrad as SimdFqGrad,
      fqRangeGrad: instance.exports.fqRangeGrad as SimdFqRangeGrad,
      absMax: instance.exports.absMax as SimdAbsMax,
      channelSum: instance.exports.channelSum as SimdChannelSum,
      channelDevSquareSum: instance.exports.channelDevSquareSum as SimdChannelDevSquareSum,
      bnNormalize: instance.exports.bnNormalize as SimdBnNormalize,
      bnGradSums: instance.exports.bnGradSums as SimdBnGradSums,
      bnGradOut: instance.exports.bnGradOut as SimdBnGradOut,
      channelOps: Object.fromEntries(CHANNEL_OPS.map(([n]) => [n, instance.exports[n] as SimdChannelOp])) as Record<ChannelOp, SimdChannelOp>,
    };
  } catch {
    kernels = null;
  }
  instances.set(memory, kernels);
  return kernels;
}

/** The WasmMemory the WASM backend keeps its tensors in (null if it does not export it). */
export function heapMemory(backend: unknown): WasmMemory | null {
  const memory = (backend as { wasm?: { asm?: { memory?: unknown } } }).wasm?.asm?.memory;
  return memory instanceof WA.Memory ? memory : null;
}

/** The SIMD loops for a WASM backend instance, or null. */
export function simdKernels(backend: unknown): SimdKernels | null {
  const memory = heapMemory(backend);
  return memory === null ? null : simdKernelsFor(memory);
}
