import * as tfl from '@tensorflow/tfjs-layers';

import {initializers} from './init.js';

/** Options of the multilayer-perceptron student. */
export interface MlpOptions {
  /** Input shape, height × width × channels. @default [28, 28, 1] */
  readonly inputShape?: readonly [number, number, number];
  /** Number of classes. @default 10 */
  readonly numClasses?: number;
  /** Units of the hidden layer. @default 128 */
  readonly hidden?: number;
  /** Seed for the weight initializers; the same seed gives the same initial weights. */
  readonly seed?: number;
  /** Model name. */
  readonly name?: string;
}

/**
 * Flatten → Dense(hidden, ReLU) → Dense(classes), outputting logits: the kind of student Hinton
 * et al. ("Distilling the Knowledge in a Neural Network", 2015) distilled on MNIST. It has no
 * convolution, so it knows nothing of translation; a convolutional teacher's soft targets on
 * shifted views carry what its hard labels do not. With 128 hidden units on 28×28×1: 101,770
 * parameters but about 102k multiply-adds per image, against keras-student's 270k, and one GEMM
 * per layer.
 */
export function mlpStudent(options: MlpOptions = {}): tfl.Sequential {
  const {inputShape = [28, 28, 1], numClasses = 10, hidden = 128, seed, name = 'mlp_student'} = options;
  const init = initializers(seed);
  return tfl.sequential({
    name,
    layers: [
      tfl.layers.flatten({name: 'flatten', inputShape: [...inputShape]}),
      tfl.layers.dense({name: 'dense1', units: hidden, kernelInitializer: init()}),
      tfl.layers.reLU({name: 'relu1'}),
      tfl.layers.dense({name: 'logits', units: numClasses, kernelInitializer: init()}),
    ],
  });
}
