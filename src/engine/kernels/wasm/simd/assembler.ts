// The bytes of a WebAssembly module, written by hand (simd.ts assembles the module from the bodies
// in this folder): LEB128 numbers, sections, vectors, and the opcodes the bodies use.

/** Unsigned LEB128. */
export function u32(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

export function section(id: number, body: number[]): number[] {
  return [id, ...u32(body.length), ...body];
}

export function vec(items: number[][]): number[] {
  return [...u32(items.length), ...items.flat()];
}

export function name(s: string): number[] {
  const bytes = [...new TextEncoder().encode(s)];
  return [...u32(bytes.length), ...bytes];
}

export const I32 = 0x7f;
export const F32 = 0x7d;
export const V128 = 0x7b;

export const op = {
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

export const simdOp = {
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
export const HIGH_HALF = [8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15];
export const JOIN_LOW = [0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23];

/** Signed LEB128 for non-negative i32 constants. */
export function sleb(n: number): number[] {
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

export function i32x4(values: number[]): number[] {
  return [...new Uint8Array(Int32Array.from(values).buffer)];
}

/** A function body: its local declarations (groups of [count, type]), then the code and its end. */
export function withLocals(locals: number[][], code: number[]): number[] {
  const all = [...vec(locals), ...code, 0x0b];
  return [...u32(all.length), ...all];
}

/** for (i = 0; i < pixels; i++) { for (g = 0; g < pixelBytes; g += 16) body; each of `advance` += pixelBytes }. */
export function perPixelGroups(pixels: number, pixelBytes: number, i: number, g: number, advance: number[], body: number[]): number[] {
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
export const groupAt = (p: number, g: number) => [...op.get(p), ...op.get(g), ...op.i32Add];
