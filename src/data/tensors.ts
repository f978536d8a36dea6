import * as tf from '@tensorflow/tfjs-core';

import {UsageError} from '../util/registry.js';
import type {Split} from './split.js';

/**
 * The split as tensors: `x` [count, h, w, c] float32 and `y` [count] int32 class indices.
 * The caller disposes both.
 * @example const {x, y} = toTensors(ds.train, ds.inputShape);
 */
export function toTensors(split: Split, shape: readonly [number, number, number]): {x: tf.Tensor4D; y: tf.Tensor1D} {
  const [h, w, c] = shape;
  const size = h * w * c;
  if (split.count * size !== split.images.length) {
    const per = split.count === 0 ? 0 : split.images.length / split.count;
    throw new UsageError(`input shape [${shape.join(', ')}] needs ${size} values per image, the data has ${per}`);
  }
  if (split.labels.length !== split.count) {
    throw new Error(`split has ${split.count} images but ${split.labels.length} labels`);
  }
  return {
    x: tf.tensor4d(split.images, [split.count, h, w, c], 'float32'),
    y: tf.tensor1d(split.labels, 'int32'),
  };
}
