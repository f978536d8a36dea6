import {backend_util, Conv2D, util} from '@tensorflow/tfjs-core';
import type {Conv2DAttrs, Conv2DInputs, KernelConfig, TensorInfo} from '@tensorflow/tfjs-core';

import {cpuFallback} from '../fallback.js';
import type {NativeBackend} from '../native_backend.js';
import {allocF32} from './elementwise_util.js';
import {convGeometry, convRunsNatively} from './conv_util.js';

export function conv2D(args: {inputs: Conv2DInputs; backend: NativeBackend; attrs: Conv2DAttrs}): TensorInfo {
  const {inputs, backend, attrs} = args;
  const x = inputs.x as TensorInfo, filter = inputs.filter as TensorInfo;
  if (!convRunsNatively([x, filter], attrs.dataFormat)) return cpuFallback(Conv2D, args);
  const info = backend_util.computeConv2DInfo(x.shape as [number, number, number, number],
    filter.shape as [number, number, number, number], attrs.strides, attrs.dilations, attrs.pad,
    attrs.dimRoundingMode, false, 'channelsLast');
  const out = allocF32(util.sizeFromShape(info.outShape));
  backend.addon.conv2d(backend.f32(x), backend.f32(filter), null, out, convGeometry(info));
  return backend.output(info.outShape, out);
}

export const conv2DConfig: KernelConfig = {
  kernelName: Conv2D,
  backendName: 'native',
  kernelFunc: conv2D as unknown as KernelConfig['kernelFunc'],
};
