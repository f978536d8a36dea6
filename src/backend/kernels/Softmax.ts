import {Softmax, util} from '@tensorflow/tfjs-core';
import type {KernelConfig, SoftmaxAttrs, SoftmaxInputs, TensorInfo} from '@tensorflow/tfjs-core';

import {cpuFallback} from '../fallback.js';
import type {NativeBackend} from '../native_backend.js';
import {allocF32} from './elementwise_util.js';

/** Softmax over the last axis (the only one tfjs supports), max-shifted, summed in float64. */
export function softmax(args: {inputs: SoftmaxInputs; backend: NativeBackend; attrs: SoftmaxAttrs}): TensorInfo {
  const {inputs, backend, attrs} = args;
  const logits = inputs.logits as TensorInfo;
  const rank = logits.shape.length;
  const dim = attrs.dim === -1 ? rank - 1 : attrs.dim;
  const size = util.sizeFromShape(logits.shape);
  // Another axis makes the cpu kernel throw its own error.
  if (logits.dtype !== 'float32' || rank === 0 || dim !== rank - 1 || size === 0) return cpuFallback(Softmax, args);
  const cols = logits.shape[rank - 1];
  const out = allocF32(size);
  backend.addon.softmax(backend.f32(logits), out, [size / cols, cols]);
  return backend.output(logits.shape, out);
}

export const softmaxConfig: KernelConfig = {
  kernelName: Softmax,
  backendName: 'native',
  kernelFunc: softmax as unknown as KernelConfig['kernelFunc'],
};
