// Seeded data augmentation as batch transforms over host arrays [n, h, w, c] (NHWC float32).
// A step's batch is 32 × 784 floats: plain loops over a Float32Array are a fraction of a
// millisecond, far below a training step, so no tensors and no native code are needed.
import {deriveSeed, mulberry32, type Rng} from '../util/random.js';
import {UsageError} from '../util/registry.js';

/** What an augmentation does to a batch. All fields are optional; an empty spec is the identity. */
export interface AugmentSpec {
  /**
   * Random translation by up to this many pixels in each direction (zero padding, then a random
   * crop of the original size: torchvision's `RandomCrop(size, padding=shift)`). @default 0
   */
  readonly shift?: number;
  /** Flip each image left–right with probability 1/2. Off for digits (a flipped 2 is no 2). @default false */
  readonly flip?: boolean;
  /**
   * Mixup (Zhang et al., "mixup: Beyond Empirical Risk Minimization", ICLR 2018): with
   * λ ~ Beta(α, α) per batch, x = λ·x_i + (1−λ)·x_π(i), labels mixed with the same λ.
   * α > 0; 0.2 is the paper's ImageNet value. Off when absent.
   */
  readonly mixup?: number;
  /**
   * CutMix (Yun et al., ICCV 2019): with λ ~ Beta(α, α) per batch, a box of area (1−λ) from
   * x_π(i) is pasted into x_i and the labels mixed by the box's exact area. α > 0 (paper: 1).
   * With mixup also set, each batch uses one of the two at random (as timm does).
   */
  readonly cutmix?: number;
}

/** An augmented batch: the images, and soft labels when mixup or cutmix mixed them. */
export interface AugmentedBatch {
  /** [n, h, w, c], same shape as the input. */
  readonly images: Float32Array;
  /**
   * [n, classes] label distributions (rows sum to 1) when the batch was mixed, else null (the
   * integer labels stand).
   */
  readonly soft: Float32Array | null;
  /** How the batch was mixed: example i took (1 − lambda) of example partner[i]; null when unmixed. */
  readonly mix: {readonly partner: Int32Array; readonly lambda: number} | null;
}

/** Label distributions [n, classes] of a mixed batch from its integer labels. */
export function mixedLabels(labels: ArrayLike<number>, mix: NonNullable<AugmentedBatch['mix']>, classes: number): Float32Array {
  const n = labels.length;
  const soft = new Float32Array(n * classes);
  for (let i = 0; i < n; i++) {
    soft[i * classes + labels[i]] += mix.lambda;
    soft[i * classes + labels[mix.partner[i]]] += 1 - mix.lambda;
  }
  return soft;
}

/** Checks a spec's values; throws a UsageError naming the bad one. */
export function checkAugmentSpec(spec: AugmentSpec): void {
  const {shift = 0, mixup, cutmix} = spec;
  if (!Number.isInteger(shift) || shift < 0) throw new UsageError(`shift must be a non-negative integer, got ${shift}`);
  if (mixup !== undefined && !(mixup > 0 && Number.isFinite(mixup))) {
    throw new UsageError(`mixup alpha must be a finite number > 0, got ${mixup}`);
  }
  if (cutmix !== undefined && !(cutmix > 0 && Number.isFinite(cutmix))) {
    throw new UsageError(`cutmix alpha must be a finite number > 0, got ${cutmix}`);
  }
}

/** True when the spec changes nothing. */
export function isIdentity(spec: AugmentSpec): boolean {
  return !(spec.shift ?? 0) && !spec.flip && spec.mixup === undefined && spec.cutmix === undefined;
}

/** True when the spec mixes labels (the loss then needs soft targets). */
export function mixesLabels(spec: AugmentSpec): boolean {
  return spec.mixup !== undefined || spec.cutmix !== undefined;
}

/**
 * A seeded augmenter: call it once per training step. The random stream depends only on the seed
 * and the order of calls, so the same seed and batches give bit-identical views — what lets
 * teacher and student see the same view, and a run be repeated.
 * @example const aug = createAugmenter({shift: 2}, {seed: 0, shape: [28, 28, 1], classes: 10});
 */
export function createAugmenter(
  spec: AugmentSpec,
  options: {readonly seed: number; readonly shape: readonly [number, number, number]; readonly classes: number},
): (images: Float32Array, labels: ArrayLike<number>) => AugmentedBatch {
  checkAugmentSpec(spec);
  const rng = mulberry32(deriveSeed(options.seed, 'augment'));
  const [h, w, c] = options.shape;
  return (images, labels) => augmentBatch(images, labels, spec, {rng, h, w, c, classes: options.classes});
}

/**
 * One batch's view determined by (seed, epoch, batch) alone: its own random stream, so a resumed
 * run, a second model fed the same batch, or a rerun all get the identical view.
 */
export function augmentAt(
  images: Float32Array,
  labels: ArrayLike<number>,
  spec: AugmentSpec,
  at: {readonly seed: number; readonly epoch: number; readonly batch: number; readonly shape: readonly [number, number, number]; readonly classes: number},
): AugmentedBatch {
  const rng = mulberry32(deriveSeed(at.seed, `augment:${at.epoch}:${at.batch}`));
  const [h, w, c] = at.shape;
  return augmentBatch(images, labels, spec, {rng, h, w, c, classes: at.classes});
}

/** One batch through `spec` with the random stream `rng`. */
export function augmentBatch(
  images: Float32Array,
  labels: ArrayLike<number>,
  spec: AugmentSpec,
  g: {readonly rng: Rng; readonly h: number; readonly w: number; readonly c: number; readonly classes: number},
): AugmentedBatch {
  const {rng, h, w, c, classes} = g;
  const size = h * w * c;
  const n = labels.length;
  if (images.length !== n * size) {
    throw new Error(`augment: ${images.length} values for ${n} images of ${h}×${w}×${c}`);
  }
  let out = images;
  const shift = spec.shift ?? 0;
  if (shift > 0 || spec.flip) out = shiftFlip(out, n, h, w, c, shift, spec.flip === true, rng);
  let soft: Float32Array | null = null;
  let mix: AugmentedBatch['mix'] = null;
  const useMix = spec.mixup !== undefined || spec.cutmix !== undefined;
  if (useMix) {
    const both = spec.mixup !== undefined && spec.cutmix !== undefined;
    const cut = spec.cutmix !== undefined && (!both || rng() < 0.5);
    const alpha = (cut ? spec.cutmix : spec.mixup) as number;
    const lambda = sampleBeta(rng, alpha, alpha);
    const partner = new Int32Array(n);
    for (let i = 0; i < n; i++) partner[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(rng() * (i + 1));
      const t = partner[i];
      partner[i] = partner[j];
      partner[j] = t;
    }
    const mixed = new Float32Array(n * size);
    let lam = lambda;
    if (cut) {
      // A box of area ≈ (1 − λ)·h·w, centred uniformly, clipped to the image; λ becomes its exact complement.
      const r = Math.sqrt(1 - lambda);
      const bh = Math.floor(h * r);
      const bw = Math.floor(w * r);
      const cy = Math.floor(rng() * h);
      const cx = Math.floor(rng() * w);
      const y0 = Math.max(0, cy - (bh >> 1));
      const y1 = Math.min(h, cy + bh - (bh >> 1));
      const x0 = Math.max(0, cx - (bw >> 1));
      const x1 = Math.min(w, cx + bw - (bw >> 1));
      lam = 1 - ((y1 - y0) * (x1 - x0)) / (h * w);
      mixed.set(out);
      for (let i = 0; i < n; i++) {
        const src = partner[i] * size;
        const dst = i * size;
        for (let y = y0; y < y1; y++) {
          const row = (y * w + x0) * c;
          mixed.set(out.subarray(src + row, src + row + (x1 - x0) * c), dst + row);
        }
      }
    } else {
      for (let i = 0; i < n; i++) {
        const a = i * size;
        const b = partner[i] * size;
        for (let k = 0; k < size; k++) mixed[a + k] = lam * out[a + k] + (1 - lam) * out[b + k];
      }
    }
    out = mixed;
    mix = {partner, lambda: lam};
    soft = new Float32Array(n * classes);
    for (let i = 0; i < n; i++) {
      soft[i * classes + labels[i]] += lam;
      soft[i * classes + labels[partner[i]]] += 1 - lam;
    }
  }
  return {images: out === images ? images.slice() : out, soft, mix};
}

/** Random translation by up to `shift` pixels (zero fill) and optional left–right flip, per image. */
function shiftFlip(x: Float32Array, n: number, h: number, w: number, c: number, shift: number, flip: boolean, rng: Rng): Float32Array {
  const out = new Float32Array(x.length);
  const size = h * w * c;
  for (let i = 0; i < n; i++) {
    const dy = shift > 0 ? Math.floor(rng() * (2 * shift + 1)) - shift : 0;
    const dx = shift > 0 ? Math.floor(rng() * (2 * shift + 1)) - shift : 0;
    const mirror = flip && rng() < 0.5;
    const base = i * size;
    for (let y = 0; y < h; y++) {
      const sy = y + dy;
      if (sy < 0 || sy >= h) continue;
      for (let xo = 0; xo < w; xo++) {
        const sx0 = xo + dx;
        if (sx0 < 0 || sx0 >= w) continue;
        const sx = mirror ? w - 1 - sx0 : sx0;
        const d = base + (y * w + xo) * c;
        const s = base + (sy * w + sx) * c;
        for (let k = 0; k < c; k++) out[d + k] = x[s + k];
      }
    }
  }
  return out;
}

/** A standard normal sample (Box–Muller). */
function sampleNormal(rng: Rng): number {
  const u = 1 - rng();
  const v = rng();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** A Gamma(k, 1) sample (Marsaglia & Tsang 2000; k < 1 by the boost u^(1/k)). */
function sampleGamma(rng: Rng, k: number): number {
  if (k < 1) return sampleGamma(rng, k + 1) * Math.pow(1 - rng(), 1 / k);
  const d = k - 1 / 3;
  const cc = 1 / Math.sqrt(9 * d);
  for (;;) {
    let xx: number;
    let v: number;
    do {
      xx = sampleNormal(rng);
      v = 1 + cc * xx;
    } while (v <= 0);
    v = v * v * v;
    const u = 1 - rng();
    if (Math.log(u) < 0.5 * xx * xx + d - d * v + d * Math.log(v)) return d * v;
  }
}

/** A Beta(a, b) sample, in [0, 1]. */
export function sampleBeta(rng: Rng, a: number, b: number): number {
  const x = sampleGamma(rng, a);
  const y = sampleGamma(rng, b);
  return x + y === 0 ? 0.5 : x / (x + y);
}
