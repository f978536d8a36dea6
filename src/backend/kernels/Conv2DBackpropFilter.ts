import {backend_util, Conv2DBackpropFilter, util} from '@tensorflow/tfjs-core';
import type {Conv2DBackpropFilterAttrs, Conv2DBackpropFilterInputs, KernelConfig, TensorInfo} from '@tensorflow/tfjs-core';

import {cpuFallback} from '../fallback.js';
import type {NativeBackend} from '../native_backend.js';
import {allocF32} from './elementwise_util.js';
import {convGeometry, convRunsNatively} from './conv_util.js';

export function conv2DBackpropFilter(
  args: {inputs: Conv2DBackpropFilterInputs; backend: NativeBackend; attrs: Conv2DBackpropFilterAttrs},
): TensorInfo {
  const {inputs, backend, attrs} = args;
  const x = inputs.x as TensorInfo, dy = inputs.dy as TensorInfo;
  if (!convRunsNatively([x, dy], attrs.dataFormat)) return cpuFallback(Conv2DBackpropFilter, args);
  // Like the cpu kernel: the gradient ops carry no dilations (tfjs rejects dilated conv gradients).
  const info = backend_util.computeConv2DInfo(x.shape as [number, number, number, number], attrs.filterShape,
    attrs.strides, 1, attrs.pad, attrs.dimRoundingMode, false, 'channelsLast');
  const dw = allocF32(util.sizeFromShape(info.filterShape));
  backend.addon.conv2dBackpropFilter(backend.f32(x), backend.f32(dy), dw, convGeometry(info));
  return backend.output(info.filterShape, dw);
}

export const conv2DBackpropFilterConfig: KernelConfig = {
  kernelName: Conv2DBackpropFilter,
  backendName: 'native',
  kernelFunc: conv2DBackpropFilter as unknown as KernelConfig['kernelFunc'],
};
