// Small seeded pseudo-random numbers for reproducible shuffles and splits (not for cryptography).

/** A generator of uniform floats in [0, 1). */
export type Rng = () => number;

/**
 * mulberry32 (Tommy Ettinger, public domain): a 32-bit state generator, fast and good enough
 * for shuffling. The same seed always gives the same sequence.
 * @example const rng = mulberry32(42); rng(); // 0.6011037519201636
 */
export function mulberry32(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A seed for one named purpose derived from a base seed (FNV-1a of the tag mixed with the seed),
 * so independent uses of one user seed (split, shuffle) do not share a stream.
 */
export function deriveSeed(seed: number, tag: string): number {
  let h = 0x811c9dc5 ^ (seed >>> 0);
  for (let i = 0; i < tag.length; i++) h = Math.imul(h ^ tag.charCodeAt(i), 0x01000193);
  // Mix the high bits of a seed above 2^32 too, so 1 and 2^32 + 1 differ.
  h = Math.imul(h ^ Math.floor(seed / 4294967296), 0x01000193);
  return h >>> 0;
}

/** A uniform integer in [0, n). */
export function randomInt(rng: Rng, n: number): number {
  return Math.floor(rng() * n);
}

/** Shuffles `a` in place (Fisher–Yates) and returns it. */
export function shuffleInPlace<T extends {length: number; [i: number]: unknown}>(a: T, rng: Rng): T {
  for (let i = a.length - 1; i > 0; i--) {
    const j = randomInt(rng, i + 1);
    const t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
  return a;
}

/** A random permutation of 0..n-1. */
export function permutation(n: number, rng: Rng): Int32Array {
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  return shuffleInPlace(p, rng);
}
