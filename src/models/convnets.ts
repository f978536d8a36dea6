import * as tfl from '@tensorflow/tfjs-layers';

import {initializers, type Initializer} from './init.js';

/** Options of the convolutional teachers and students below. */
export interface ConvNetOptions {
  /** Input shape, height × width × channels. @default [32, 32, 3] */
  readonly inputShape?: readonly [number, number, number];
  /** Number of classes. @default 10 */
  readonly numClasses?: number;
  /** Seed for the weight initializers; the same seed gives the same initial weights. */
  readonly seed?: number;
  /** Model name. */
  readonly name?: string;
}


/**
 * Stable layer names within one model: `n('conv')` gives conv1, conv2, ... These are the names
 * `--hint-layer` and feature losses use; tfjs' own names (conv2d_7) depend on how many layers the
 * process made before.
 */
export function layerNamer(): (kind: string) => string {
  const counts = new Map<string, number>();
  return (kind) => {
    const k = (counts.get(kind) ?? 0) + 1;
    counts.set(kind, k);
    return `${kind}${k}`;
  };
}

/** conv 3×3 same → batch norm → ReLU. */
function convBnRelu(
  filters: number,
  init: () => Initializer,
  bn: {momentum: number; epsilon: number},
  options: {inputShape?: number[]; useBias: boolean},
  n: (kind: string) => string,
): tfl.layers.Layer[] {
  return [
    tfl.layers.conv2d({
      name: n('conv'),
      ...(options.inputShape ? {inputShape: options.inputShape} : {}),
      filters,
      kernelSize: 3,
      padding: 'same',
      useBias: options.useBias,
      kernelInitializer: init(),
    }),
    tfl.layers.batchNormalization({name: n('bn'), momentum: bn.momentum, epsilon: bn.epsilon}),
    tfl.layers.reLU({name: n('relu')}),
  ];
}

/**
 * A CIFAR-10 teacher in the seed article's spirit: three stages of
 * (conv 3×3 → batch norm → ReLU) × 2 → max-pool 2×2 with 32, 64 and 128 filters, then global
 * average pooling and a dense layer to logits. 288,746 trainable parameters on 32×32×3.
 */
export function cifarTeacher(options: ConvNetOptions = {}): tfl.Sequential {
  const {inputShape = [32, 32, 3], numClasses = 10, seed, name = 'cifar_teacher'} = options;
  const init = initializers(seed);
  const n = layerNamer();
  // Keras' BatchNormalization defaults (momentum 0.99, epsilon 1e-3); the convs feed batch norm, so no bias.
  const bn = {momentum: 0.99, epsilon: 1e-3};
  const layers: tfl.layers.Layer[] = [];
  let first = true;
  for (const filters of [32, 64, 128]) {
    for (let i = 0; i < 2; i++) {
      layers.push(...convBnRelu(filters, init, bn, {inputShape: first ? [...inputShape] : undefined, useBias: false}, n));
      first = false;
    }
    layers.push(tfl.layers.maxPooling2d({name: n('pool'), poolSize: 2, strides: 2}));
  }
  layers.push(tfl.layers.globalAveragePooling2d({name: 'gap'}), tfl.layers.dense({name: 'logits', units: numClasses, kernelInitializer: init()}));
  return tfl.sequential({name, layers});
}

/**
 * A small CIFAR-10 student: conv 3×3 (16) → ReLU → max-pool → conv 3×3 (32) → ReLU → max-pool →
 * flatten → dense to logits. 25,578 parameters on 32×32×3.
 */
export function cifarStudent(options: ConvNetOptions = {}): tfl.Sequential {
  const {inputShape = [32, 32, 3], numClasses = 10, seed, name = 'cifar_student'} = options;
  const init = initializers(seed);
  return tfl.sequential({
    name,
    layers: [
      tfl.layers.conv2d({
        name: 'conv1',
        inputShape: [...inputShape],
        filters: 16,
        kernelSize: 3,
        padding: 'same',
        activation: 'relu',
        kernelInitializer: init(),
      }),
      tfl.layers.maxPooling2d({name: 'pool1', poolSize: 2, strides: 2}),
      tfl.layers.conv2d({name: 'conv2', filters: 32, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init()}),
      tfl.layers.maxPooling2d({name: 'pool2', poolSize: 2, strides: 2}),
      tfl.layers.flatten({name: 'flatten'}),
      tfl.layers.dense({name: 'logits', units: numClasses, kernelInitializer: init()}),
    ],
  });
}

/**
 * The PyTorch reference's `deep_cnn` (shared/reference/keras_kd_torch.py): conv-BN-ReLU stages
 * 32, 32, max-pool, 64, 64, max-pool, 128, then global average pooling and dense to logits.
 * Convs keep their bias and batch norm uses PyTorch's momentum 0.1 (Keras 0.9) and ε 1e-5, so
 * its 140,778 trainable parameters on 28×28×1 match the reference's count.
 */
export function deepTeacher(options: ConvNetOptions = {}): tfl.Sequential {
  const {inputShape = [28, 28, 1], numClasses = 10, seed, name = 'deep_teacher'} = options;
  const init = initializers(seed);
  const bn = {momentum: 0.9, epsilon: 1e-5};
  const n = layerNamer();
  const stage = (filters: number, first = false) =>
    convBnRelu(filters, init, bn, {inputShape: first ? [...inputShape] : undefined, useBias: true}, n);
  return tfl.sequential({
    name,
    layers: [
      ...stage(32, true),
      ...stage(32),
      tfl.layers.maxPooling2d({name: n('pool'), poolSize: 2, strides: 2}),
      ...stage(64),
      ...stage(64),
      tfl.layers.maxPooling2d({name: n('pool'), poolSize: 2, strides: 2}),
      ...stage(128),
      tfl.layers.globalAveragePooling2d({name: 'gap'}),
      tfl.layers.dense({name: 'logits', units: numClasses, kernelInitializer: init()}),
    ],
  });
}

/** batch norm (ε 1e-3, Keras momentum 0.9 = PyTorch's 0.1) → ReLU6. */
function bnRelu6(n: (kind: string) => string): tfl.layers.Layer[] {
  return [tfl.layers.batchNormalization({name: n('bn'), momentum: 0.9, epsilon: 1e-3}), tfl.layers.reLU({name: n('relu'), maxValue: 6})];
}

/**
 * A MobileNet-style depthwise-separable student, the PyTorch reference's `mobile_student`
 * (shared/reference/zoo_throughput.py): conv 3×3 stride 2 (16) → BN → ReLU6, then four blocks of
 * depthwise 3×3 → BN → ReLU6 → pointwise 1×1 → BN → ReLU6 to 32 (stride 1), 64 (2), 64 (1) and
 * 128 (2) channels, global average pooling and a dense layer to logits. Bias-free convs (batch norm
 * follows each); 19,114 trainable parameters on 32×32×3.
 */
export function mobileStudent(options: ConvNetOptions = {}): tfl.Sequential {
  const {inputShape = [32, 32, 3], numClasses = 10, seed, name = 'mobile_student'} = options;
  const init = initializers(seed);
  const n = layerNamer();
  const layers: tfl.layers.Layer[] = [
    tfl.layers.conv2d({
      name: 'conv1',
      inputShape: [...inputShape],
      filters: 16,
      kernelSize: 3,
      strides: 2,
      padding: 'same',
      useBias: false,
      kernelInitializer: init(),
    }),
    ...bnRelu6(n),
  ];
  for (const [filters, strides] of [[32, 1], [64, 2], [64, 1], [128, 2]]) {
    layers.push(
      tfl.layers.depthwiseConv2d({name: n('dw'), kernelSize: 3, strides, padding: 'same', useBias: false, depthwiseInitializer: init()}),
      ...bnRelu6(n),
      tfl.layers.conv2d({name: n('pw'), filters, kernelSize: 1, useBias: false, kernelInitializer: init()}),
      ...bnRelu6(n),
    );
  }
  layers.push(tfl.layers.globalAveragePooling2d({name: 'gap'}), tfl.layers.dense({name: 'logits', units: numClasses, kernelInitializer: init()}));
  return tfl.sequential({name, layers});
}
