import {backend_util, Conv2DBackpropInput, util} from '@tensorflow/tfjs-core';
import type {Conv2DBackpropInputAttrs, Conv2DBackpropInputInputs, KernelConfig, TensorInfo} from '@tensorflow/tfjs-core';

import {cpuFallback} from '../fallback.js';
import type {NativeBackend} from '../native_backend.js';
import {allocF32} from './elementwise_util.js';
import {convGeometry, convRunsNatively} from './conv_util.js';

export function conv2DBackpropInput(
  args: {inputs: Conv2DBackpropInputInputs; backend: NativeBackend; attrs: Conv2DBackpropInputAttrs},
): TensorInfo {
  const {inputs, backend, attrs} = args;
  const dy = inputs.dy as TensorInfo, filter = inputs.filter as TensorInfo;
  if (!convRunsNatively([dy, filter], attrs.dataFormat)) return cpuFallback(Conv2DBackpropInput, args);
  // Like the cpu kernel: the gradient ops carry no dilations (tfjs rejects dilated conv gradients).
  const info = backend_util.computeConv2DInfo(attrs.inputShape, filter.shape as [number, number, number, number],
    attrs.strides, 1, attrs.pad, attrs.dimRoundingMode, false, 'channelsLast');
  // tf.conv2dTranspose accepts a dy whose height and width differ from those its outputShape
  // implies (tfjs-core's test: dy [1,8,8,8] for outputShape [1,4,4,8]); cpu then reads dy with
  // dy's own strides over the implied window. Such a call keeps cpu's answer.
  if (!util.arraysEqual(dy.shape, info.outShape)) return cpuFallback(Conv2DBackpropInput, args);
  const dx = allocF32(util.sizeFromShape(info.inShape));
  backend.addon.conv2dBackpropInput(backend.f32(dy), backend.f32(filter), dx, convGeometry(info));
  return backend.output(info.inShape, dx);
}

export const conv2DBackpropInputConfig: KernelConfig = {
  kernelName: Conv2DBackpropInput,
  backendName: 'native',
  kernelFunc: conv2DBackpropInput as unknown as KernelConfig['kernelFunc'],
};
