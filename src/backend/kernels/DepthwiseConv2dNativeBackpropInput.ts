import {backend_util, DepthwiseConv2dNativeBackpropInput, util} from '@tensorflow/tfjs-core';
import type {
  DepthwiseConv2dNativeBackpropInputAttrs, DepthwiseConv2dNativeBackpropInputInputs, KernelConfig, TensorInfo,
} from '@tensorflow/tfjs-core';

import {cpuFallback} from '../fallback.js';
import type {NativeBackend} from '../native_backend.js';
import {depthwiseGeometry} from './DepthwiseConv2dNative.js';

export function depthwiseConv2dNativeBackpropInput(args: {
  inputs: DepthwiseConv2dNativeBackpropInputInputs;
  backend: NativeBackend;
  attrs: DepthwiseConv2dNativeBackpropInputAttrs;
}): TensorInfo {
  const {inputs, backend, attrs} = args;
  const dy = inputs.dy as TensorInfo, filter = inputs.filter as TensorInfo;
  const dilations = attrs.dilations ?? [1, 1];
  // The cpu kernel ignores dilation (tfjs's gradient rejects it before getting here); keep its
  // answer for that case rather than a different one.
  if (dy.dtype !== 'float32' || filter.dtype !== 'float32' || !backend_util.tupleValuesAreOne(dilations)) {
    return cpuFallback(DepthwiseConv2dNativeBackpropInput, args);
  }
  const info = backend_util.computeConv2DInfo(attrs.inputShape, filter.shape as [number, number, number, number],
    attrs.strides, dilations, attrs.pad, attrs.dimRoundingMode, true /* depthwise */);
  const dx = new Float32Array(util.sizeFromShape(info.inShape));
  backend.addon.depthwiseConv2dBackpropInput(backend.f32(dy), backend.f32(filter), dx, depthwiseGeometry(info));
  return backend.output(info.inShape, dx);
}

export const depthwiseConv2dNativeBackpropInputConfig: KernelConfig = {
  kernelName: DepthwiseConv2dNativeBackpropInput,
  backendName: 'native',
  kernelFunc: depthwiseConv2dNativeBackpropInput as unknown as KernelConfig['kernelFunc'],
};
