// Checks of a weights manifest's entries, including tfjs-converter's `quantization` field, so a
// malformed model.json fails with one line naming the weight instead of deep inside tfjs' decoder.
import type * as tf from '@tensorflow/tfjs-core';

import {UsageError} from '../util/registry.js';

type WeightsManifestEntry = tf.io.WeightsManifestEntry;

/** Bytes per stored value of each dtype a weight may be saved as (tfjs' DTYPE_VALUE_SIZE_MAP). */
export const STORED_BYTES: Readonly<Record<string, number>> = {
  float32: 4, int32: 4, uint16: 2, uint8: 1, float16: 2, bool: 1, complex64: 8,
};

const DTYPES = ['float32', 'int32', 'bool', 'string', 'complex64'];
const QUANTIZED_DTYPES = ['uint8', 'uint16', 'float16'];

const show = (v: unknown) => (typeof v === 'string' ? `"${v}"` : v === undefined ? 'nothing' : JSON.stringify(v));

/**
 * Checks one manifest entry as tfjs-core's `decodeWeights` will read it: name, shape, dtype and,
 * if present, `quantization` = `{dtype: 'uint8' | 'uint16', scale, min, original_dtype?}` or
 * `{dtype: 'float16', original_dtype?}` (float16 only for float32 weights).
 * @throws UsageError naming `where`, the weight and the bad field.
 */
export function checkWeightSpec(entry: unknown, where: string): WeightsManifestEntry {
  if (entry == null || typeof entry !== 'object') throw new UsageError(`${where}: weight entry must be an object, got ${show(entry)}`);
  const e = entry as Record<string, unknown>;
  if (typeof e.name !== 'string') throw new UsageError(`${where}: weight entry name must be a string, got ${show(e.name)}`);
  const bad = (field: string, expected: string, got: unknown) =>
    new UsageError(`${where}: weight "${e.name}": ${field} must be ${expected}, got ${show(got)}`);
  if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw bad('shape', 'an array of non-negative integers', e.shape);
  }
  if (typeof e.dtype !== 'string' || !DTYPES.includes(e.dtype)) throw bad('dtype', `one of ${DTYPES.join(', ')}`, e.dtype);
  if ('quantization' in e) {
    const q = e.quantization as Record<string, unknown>;
    if (q == null || typeof q !== 'object' || Array.isArray(q)) throw bad('quantization', 'an object', q);
    if (typeof q.dtype !== 'string' || !QUANTIZED_DTYPES.includes(q.dtype)) {
      throw bad('quantization.dtype', `one of ${QUANTIZED_DTYPES.join(', ')}`, q.dtype);
    }
    if (q.dtype === 'float16') {
      if (e.dtype !== 'float32') throw bad('dtype', 'float32 for float16 quantization', e.dtype);
    } else {
      if (e.dtype !== 'float32' && e.dtype !== 'int32') throw bad('dtype', `float32 or int32 for ${q.dtype} quantization`, e.dtype);
      if (typeof q.scale !== 'number' || !Number.isFinite(q.scale) || q.scale <= 0) {
        throw bad('quantization.scale', 'a finite number > 0', q.scale);
      }
      if (typeof q.min !== 'number' || !Number.isFinite(q.min)) throw bad('quantization.min', 'a finite number', q.min);
    }
    if ('original_dtype' in q && q.original_dtype !== e.dtype) {
      throw bad('quantization.original_dtype', `the weight's dtype "${e.dtype}"`, q.original_dtype);
    }
  }
  return entry as WeightsManifestEntry;
}

/** Bytes a checked entry occupies in the weight data, or undefined for strings (length-prefixed). */
export function storedBytes(spec: WeightsManifestEntry): number | undefined {
  const n = spec.shape.reduce((a, b) => a * b, 1);
  const dtype = spec.quantization?.dtype ?? spec.dtype;
  if (dtype === 'string') return undefined;
  return n * STORED_BYTES[dtype];
}
