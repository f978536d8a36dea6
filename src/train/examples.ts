import * as tf from '@tensorflow/tfjs-core';

import {tensorBuffer} from '../backend/index.js';
import {UsageError} from '../util/registry.js';

/** Numeric typed arrays accepted as host-side inputs. */
export type NumericArray = Float32Array | Int32Array | Uint8Array | Uint8ClampedArray | Uint16Array | Int16Array;

/** Inputs held in host memory: a flat array and its shape, examples first (`[N, H, W, C]`). */
export interface HostArray {
  readonly data: NumericArray;
  readonly shape: readonly number[];
}

/** Model inputs: a tensor or a host array, examples along the first axis. */
export type Inputs = tf.Tensor | HostArray;

/** Integer class labels, one per example. */
export type Labels = tf.Tensor | NumericArray | readonly number[];

/**
 * Examples read once into host memory, from which minibatch tensors are gathered by index.
 * With the cpu and native backends a tensor's data is already in host memory: no copy is made.
 */
export class HostExamples {
  readonly count: number;
  readonly rowShape: readonly number[];
  readonly rowSize: number;
  private readonly values: NumericArray;

  constructor(x: Inputs, what = 'x') {
    const shape = x.shape;
    if (shape.length < 2) throw new UsageError(`${what} must have an examples axis and a feature axis, got shape [${shape}]`);
    this.count = shape[0];
    this.rowShape = shape.slice(1);
    this.rowSize = this.rowShape.reduce((a, b) => a * b, 1);
    if (x instanceof tf.Tensor) {
      if (x.dtype !== 'float32' && x.dtype !== 'int32') throw new UsageError(`${what} must be numeric, got dtype ${x.dtype}`);
      this.values = x.dataSync() as Float32Array | Int32Array;
    } else {
      if (x.data.length !== this.count * this.rowSize) {
        throw new UsageError(
          `${what}: shape [${shape}] needs ${this.count * this.rowSize} values, got ${x.data.length}`,
        );
      }
      this.values = x.data;
    }
  }

  /** The float32 tensor `[indices.length, ...rowShape]` of the examples at `indices`. */
  gather(indices: ArrayLike<number>): tf.Tensor {
    const n = indices.length;
    // Every element is written below, so a pooled (uninitialised) buffer will do.
    const out = tensorBuffer(n * this.rowSize);
    const r = this.rowSize;
    // Runs of consecutive indices (every batch of an unshuffled epoch) are one copy each.
    for (let i = 0; i < n; ) {
      let j = i + 1;
      while (j < n && indices[j] === indices[j - 1] + 1) j++;
      const start = indices[i] * r;
      out.set(this.values.subarray(start, start + (j - i) * r), i * r);
      i = j;
    }
    return tf.tensor(out, [n, ...this.rowShape], 'float32');
  }
}

/**
 * Labels as an Int32Array; checks there is one per example and each is an integer in
 * [0, numClasses).
 */
export function labelsToInt32(y: Labels, count: number, numClasses: number, what = 'y'): Int32Array {
  let values: ArrayLike<number>;
  if (y instanceof tf.Tensor) {
    if (y.rank !== 1) throw new UsageError(`${what} must be a vector of class indices, got shape [${y.shape}]`);
    values = y.dataSync() as ArrayLike<number>;
  } else {
    values = y;
  }
  if (values.length !== count) throw new UsageError(`${what} has ${values.length} labels for ${count} examples`);
  const out = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const v = values[i];
    if (!Number.isInteger(v) || v < 0 || v >= numClasses) {
      throw new UsageError(`${what}[${i}] = ${v} is not a class index in [0, ${numClasses})`);
    }
    out[i] = v;
  }
  return out;
}

/** `[start, end)` of 0..n-1 as an index array. */
export function range(start: number, end: number): Int32Array {
  const out = new Int32Array(end - start);
  for (let i = 0; i < out.length; i++) out[i] = start + i;
  return out;
}
