// A tiny seeded PRNG (mulberry32) whose whole state is one uint32, so a training state can carry it
// as a plain number and resume the exact same sequence. Math.random cannot be seeded or saved.

export class Rng {
  private s: number;

  constructor(seed: number) {
    this.s = seed >>> 0;
  }

  /** The full generator state: pass it to `new Rng(state)` to continue the same sequence. */
  get state(): number {
    return this.s;
  }

  /** Uniform in [0, 1) with 32 bits of resolution. */
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
}

/** A uniformly random permutation of 0..n-1 (Fisher–Yates), drawn from `rng`. */
export function permutation(n: number, rng: Rng): Int32Array {
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  shuffleInPlace(p, rng);
  return p;
}

export function shuffleInPlace(a: Int32Array | number[], rng: Rng): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = a[i]!;
    a[i] = a[j]!;
    a[j] = t;
  }
}

/**
 * A 32-bit seed derived from a base seed and a label (FNV-1a over the label, mixed with the seed),
 * so every layer of a model gets its own stream and adding a layer does not reseed the others.
 */
export function deriveSeed(seed: number, label: string): number {
  let h = (0x811c9dc5 ^ (seed >>> 0)) >>> 0;
  for (let i = 0; i < label.length; i++) {
    h ^= label.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  // One mulberry32 round spreads the bits so nearby labels give unrelated seeds.
  return Math.floor(new Rng(h).next() * 4294967296) >>> 0;
}
