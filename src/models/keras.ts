import * as tfl from '@tensorflow/tfjs-layers';

import {initializers} from './init.js';

/** Options of the Keras knowledge-distillation example's CNNs. */
export interface KerasCnnOptions {
  /** Input shape, height × width × channels. @default [28, 28, 1] */
  readonly inputShape?: readonly [number, number, number];
  /** Number of classes. @default 10 */
  readonly numClasses?: number;
  /** Seed for the weight initializers; the same seed gives the same initial weights. */
  readonly seed?: number;
  /** Model name. */
  readonly name?: string;
}

/**
 * Conv2D(f1, 3×3, stride 2, same) → LeakyReLU(0.2) → MaxPool(2×2, stride 1, same) →
 * Conv2D(f2, 3×3, stride 2, same) → Flatten → Dense(classes), outputting logits.
 * The Keras example's teacher is (256, 512), its student (16, 32).
 */
export function kerasCnn(f1: number, f2: number, options: KerasCnnOptions = {}): tfl.Sequential {
  const {inputShape = [28, 28, 1], numClasses = 10, seed, name} = options;
  const init = initializers(seed);
  return tfl.sequential({
    name,
    layers: [
      tfl.layers.conv2d({
        name: 'conv1',
        inputShape: [...inputShape],
        filters: f1,
        kernelSize: 3,
        strides: 2,
        padding: 'same',
        kernelInitializer: init(),
      }),
      tfl.layers.leakyReLU({name: 'leaky_relu1', alpha: 0.2}),
      tfl.layers.maxPooling2d({name: 'pool1', poolSize: 2, strides: 1, padding: 'same'}),
      tfl.layers.conv2d({name: 'conv2', filters: f2, kernelSize: 3, strides: 2, padding: 'same', kernelInitializer: init()}),
      tfl.layers.flatten({name: 'flatten'}),
      tfl.layers.dense({name: 'logits', units: numClasses, kernelInitializer: init()}),
    ],
  });
}

/** The Keras example's teacher: 1,433,610 parameters on 28×28×1. */
export const kerasTeacher = (options: KerasCnnOptions = {}) => kerasCnn(256, 512, {name: 'teacher', ...options});
/** The Keras example's student: 20,490 parameters on 28×28×1. */
export const kerasStudent = (options: KerasCnnOptions = {}) => kerasCnn(16, 32, {name: 'student', ...options});
