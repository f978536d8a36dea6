import {backend_util, DepthwiseConv2dNativeBackpropFilter, util} from '@tensorflow/tfjs-core';
import type {
  DepthwiseConv2dNativeBackpropFilterAttrs, DepthwiseConv2dNativeBackpropFilterInputs, KernelConfig, TensorInfo,
} from '@tensorflow/tfjs-core';

import {cpuFallback} from '../fallback.js';
import type {NativeBackend} from '../native_backend.js';
import {depthwiseGeometry} from './DepthwiseConv2dNative.js';

export function depthwiseConv2dNativeBackpropFilter(args: {
  inputs: DepthwiseConv2dNativeBackpropFilterInputs;
  backend: NativeBackend;
  attrs: DepthwiseConv2dNativeBackpropFilterAttrs;
}): TensorInfo {
  const {inputs, backend, attrs} = args;
  const x = inputs.x as TensorInfo, dy = inputs.dy as TensorInfo;
  const dilations = attrs.dilations ?? [1, 1];
  // As for the input gradient: the cpu kernel ignores dilation, so that case stays with it.
  if (x.dtype !== 'float32' || dy.dtype !== 'float32' || !backend_util.tupleValuesAreOne(dilations)) {
    return cpuFallback(DepthwiseConv2dNativeBackpropFilter, args);
  }
  const info = backend_util.computeConv2DInfo(x.shape as [number, number, number, number], attrs.filterShape,
    attrs.strides, dilations, attrs.pad, attrs.dimRoundingMode, true /* depthwise */);
  const dw = new Float32Array(util.sizeFromShape(info.filterShape));
  backend.addon.depthwiseConv2dBackpropFilter(backend.f32(x), backend.f32(dy), dw, depthwiseGeometry(info));
  return backend.output(info.filterShape, dw);
}

export const depthwiseConv2dNativeBackpropFilterConfig: KernelConfig = {
  kernelName: DepthwiseConv2dNativeBackpropFilter,
  backendName: 'native',
  kernelFunc: depthwiseConv2dNativeBackpropFilter as unknown as KernelConfig['kernelFunc'],
};
