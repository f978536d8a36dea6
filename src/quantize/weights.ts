// Weight quantization into the format stock `tf.loadLayersModel` reads, as tfjs-converter writes it
// (tensorflowjs/quantization.py and write_weights.py): each quantized manifest entry keeps its
// dtype 'float32' and gains `quantization: {dtype, min, scale, original_dtype}` (uint8, uint16) or
// `{dtype: 'float16', original_dtype}`; the weight data holds the raw uint8 / uint16 / float16 values.
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';

import {saveModel} from '../io/index.js';
import {UsageError} from '../util/registry.js';

type WeightsManifestEntry = tf.io.WeightsManifestEntry;

/** The storage dtypes tfjs' decoder understands. */
export type WeightDtype = 'uint8' | 'uint16' | 'float16';
export const WEIGHT_DTYPES: readonly WeightDtype[] = ['uint8', 'uint16', 'float16'];

/** Affine quantization parameters: a stored integer v stands for `v · scale + min`. */
export interface AffineParams {
  readonly scale: number;
  readonly min: number;
}

/** numpy's `np.round`: halves go to the even neighbour. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * tfjs-converter's affine range for `bits`-bit unsigned storage: `scale = (max − min)/(2^bits − 1)`;
 * when `min ≤ 0 ≤ max`, min is nudged so that 0 is stored exactly: `zp = round(−min/scale)`,
 * `min = −zp·scale`. A constant tensor (min = max) gets scale 1 and min = its value.
 * @example affineParams(-1, 1, 8) // {scale: 2/255, min: -128·2/255}
 */
export function affineParams(min: number, max: number, bits: 8 | 16): AffineParams {
  if (!(min <= max)) throw new Error(`affineParams: min ${min} > max ${max}`);
  if (min === max) return {scale: 1, min};
  const quantMax = 2 ** bits - 1;
  const scale = (max - min) / quantMax;
  if (min <= 0 && 0 <= max) return {scale, min: -roundHalfEven(-min / scale) * scale};
  return {scale, min};
}

/** Quantized values of `values` under tfjs-converter's affine scheme, with their parameters. */
export function quantizeAffine(values: Float32Array, dtype: 'uint8' | 'uint16'): AffineParams & {data: Uint8Array | Uint16Array} {
  const bits = dtype === 'uint8' ? 8 : 16;
  const data = bits === 8 ? new Uint8Array(values.length) : new Uint16Array(values.length);
  if (values.length === 0) return {scale: 1, min: 0, data};
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (!Number.isFinite(v)) throw new UsageError(`cannot quantize a weight holding ${v}`);
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const {scale, min} = affineParams(lo, hi, bits);
  if (lo === hi) return {scale, min, data}; // all zeros
  const max = (2 ** bits - 1) * scale + min;
  for (let i = 0; i < values.length; i++) {
    const v = Math.min(Math.max(values[i], min), max);
    data[i] = roundHalfEven((v - min) / scale);
  }
  return {scale, min, data};
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE half-precision bits of a float32, rounding to nearest even (numpy's `astype(np.float16)`). */
export function toFloat16Bits(x: number): number {
  f32[0] = x;
  const bits = u32[0];
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  let mant = bits & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 | (mant >>> 13) : 0); // inf, NaN
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow to infinity
  if (e <= 0) {
    if (e < -10) return sign; // below half the smallest subnormal
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rem > halfway || (rem === halfway && (half & 1) === 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (half & 1) === 1)) half++; // a carry into the exponent is right
  return sign | half;
}

/** The float value of IEEE half-precision bits. */
export function fromFloat16Bits(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >>> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 0x1f) return m !== 0 ? NaN : sign * Infinity;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}

/** float16 storage of `values`. */
export function quantizeFloat16(values: Float32Array): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = toFloat16Bits(values[i]);
  return out;
}

/** Options of {@link quantizeWeights} and {@link saveQuantized}. */
export interface WeightQuantizationOptions {
  /** Storage dtype of the quantized float32 weights. */
  readonly dtype: WeightDtype;
  /** Layers whose weights stay float32 (e.g. the first and last layer). @default [] */
  readonly skipLayers?: readonly string[];
  /** Quantize only tensors with at least this many values (tfjs-converter quantizes all). @default 0 */
  readonly minSize?: number;
}

/** What happened to one weight. */
export interface QuantizedWeight {
  readonly name: string;
  readonly size: number;
  /** The storage dtype, or the weight's own dtype when it was left as is. */
  readonly storedAs: string;
  readonly bytes: number;
}

/** What {@link quantizeWeights} returns: the new manifest entries and weight data, and a per-weight report. */
export interface QuantizedArtifacts {
  readonly weightSpecs: WeightsManifestEntry[];
  readonly weightData: ArrayBuffer;
  readonly weights: readonly QuantizedWeight[];
}

const BYTES: Record<string, number> = {float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2};

/**
 * Quantizes the float32 entries of an unquantized weights manifest and its data. Entries of other
 * dtypes, of skipped layers (a weight belongs to layer L when its name starts with `L/`) and
 * smaller than `minSize` are copied unchanged.
 */
export function quantizeWeights(
  specs: readonly WeightsManifestEntry[],
  data: ArrayBuffer,
  options: WeightQuantizationOptions,
): QuantizedArtifacts {
  const {dtype, skipLayers = [], minSize = 0} = options;
  if (!WEIGHT_DTYPES.includes(dtype)) throw new UsageError(`unknown weight dtype "${dtype}"; expected one of ${WEIGHT_DTYPES.join(', ')}`);
  if (!Number.isFinite(minSize) || minSize < 0) throw new UsageError(`minSize must be a number ≥ 0, got ${minSize}`);
  const outSpecs: WeightsManifestEntry[] = [];
  const parts: Uint8Array[] = [];
  const report: QuantizedWeight[] = [];
  let offset = 0;
  for (const spec of specs) {
    if (spec.quantization != null) throw new UsageError(`weight "${spec.name}" is already quantized (${spec.quantization.dtype})`);
    if (spec.dtype === 'string' || BYTES[spec.dtype] == null) throw new UsageError(`weight "${spec.name}": cannot quantize a model holding ${spec.dtype} weights`);
    const size = spec.shape.reduce((a, b) => a * b, 1);
    const byteLength = size * BYTES[spec.dtype];
    const raw = new Uint8Array(data, offset, byteLength);
    offset += byteLength;
    const skip = spec.dtype !== 'float32' || size < minSize || skipLayers.some((l) => spec.name.startsWith(`${l}/`));
    if (skip) {
      outSpecs.push({...spec});
      parts.push(raw);
      report.push({name: spec.name, size, storedAs: spec.dtype, bytes: byteLength});
      continue;
    }
    const values = new Float32Array(raw.slice().buffer);
    let stored: Uint8Array | Uint16Array;
    if (dtype === 'float16') {
      stored = quantizeFloat16(values);
      outSpecs.push({...spec, quantization: {dtype, original_dtype: 'float32'} as WeightsManifestEntry['quantization']});
    } else {
      const q = quantizeAffine(values, dtype);
      stored = q.data;
      outSpecs.push({...spec, quantization: {dtype, min: q.min, scale: q.scale, original_dtype: 'float32'} as WeightsManifestEntry['quantization']});
    }
    const bytes = new Uint8Array(stored.buffer, stored.byteOffset, stored.byteLength);
    parts.push(bytes);
    report.push({name: spec.name, size, storedAs: dtype, bytes: bytes.byteLength});
  }
  if (offset !== data.byteLength) throw new Error(`weight data holds ${data.byteLength} bytes, the manifest ${offset}`);
  const total = parts.reduce((a, p) => a + p.byteLength, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return {weightSpecs: outSpecs, weightData: out.buffer, weights: report};
}

/** A model's save artifacts (topology, manifest, weight data), without writing anything. */
export async function modelArtifacts(model: tfl.LayersModel): Promise<tf.io.ModelArtifacts> {
  let captured: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      captured = artifacts;
      return {modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts)};
    }),
  );
  return captured as tf.io.ModelArtifacts;
}

/**
 * Saves `model` into `dir` (model.json + weights.bin, atomically, through hafif's file:// saver)
 * with its float32 weights quantized; stock `tf.loadLayersModel` reads the result.
 * @example await saveQuantized(model, 'out/student-uint8', {dtype: 'uint8'});
 */
export async function saveQuantized(
  model: tfl.LayersModel,
  dir: string,
  options: WeightQuantizationOptions,
): Promise<readonly QuantizedWeight[]> {
  const names = new Set(model.layers.map((l) => l.name));
  for (const l of options.skipLayers ?? []) {
    if (!names.has(l)) throw new UsageError(`skip layer "${l}" is not a layer of the model; its layers are ${[...names].join(', ')}`);
  }
  const artifacts = await modelArtifacts(model);
  const data = artifacts.weightData == null ? new ArrayBuffer(0) : tf.io.CompositeArrayBuffer.join(artifacts.weightData);
  const q = quantizeWeights(artifacts.weightSpecs ?? [], data, options);
  await saveModel(dir, {...artifacts, weightSpecs: q.weightSpecs, weightData: q.weightData});
  return q.weights;
}

/**
 * The float values a manifest describes, one array per entry: quantized entries decoded as
 * `v·scale + min` (uint8, uint16) or from float16 bits — hafif's own reading, independent of
 * tfjs' decoder. Entries must be float32 (quantized or not).
 */
export function dequantizeWeights(specs: readonly WeightsManifestEntry[], data: ArrayBuffer): Float32Array[] {
  const out: Float32Array[] = [];
  let offset = 0;
  for (const spec of specs) {
    if (spec.dtype !== 'float32') throw new UsageError(`weight "${spec.name}" is ${spec.dtype}, not float32`);
    const n = spec.shape.reduce((a, b) => a * b, 1);
    const q = spec.quantization;
    const values = new Float32Array(n);
    if (q == null) {
      values.set(new Float32Array(data.slice(offset, offset + 4 * n)));
      offset += 4 * n;
    } else if (q.dtype === 'float16') {
      const bits = new Uint16Array(data.slice(offset, offset + 2 * n));
      for (let i = 0; i < n; i++) values[i] = fromFloat16Bits(bits[i]);
      offset += 2 * n;
    } else {
      const width = q.dtype === 'uint8' ? 1 : 2;
      const stored = width === 1 ? new Uint8Array(data.slice(offset, offset + n)) : new Uint16Array(data.slice(offset, offset + 2 * n));
      for (let i = 0; i < n; i++) values[i] = stored[i] * (q.scale as number) + (q.min as number);
      offset += width * n;
    }
    out.push(values);
  }
  return out;
}
