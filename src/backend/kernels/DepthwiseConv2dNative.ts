import {backend_util, DepthwiseConv2dNative, util} from '@tensorflow/tfjs-core';
import type {DepthwiseConv2dNativeAttrs, DepthwiseConv2dNativeInputs, KernelConfig, TensorInfo} from '@tensorflow/tfjs-core';

import {cpuFallback} from '../fallback.js';
import type {NativeBackend} from '../native_backend.js';
import {allocF32} from './elementwise_util.js';

/**
 * The addon's depthwise geometry from tfjs's conv info (computed exactly as the cpu kernels do):
 * [batch, inH, inW, inC, outH, outW, channelMultiplier, filterH, filterW, strideH, strideW,
 * dilationH, dilationW, padTop, padLeft].
 */
export function depthwiseGeometry(info: backend_util.Conv2DInfo): number[] {
  return [
    info.batchSize, info.inHeight, info.inWidth, info.inChannels,
    info.outHeight, info.outWidth, info.outChannels / info.inChannels,
    info.filterHeight, info.filterWidth, info.strideHeight, info.strideWidth,
    info.dilationHeight, info.dilationWidth, info.padInfo.top, info.padInfo.left,
  ];
}

export function depthwiseConv2dNative(
  args: {inputs: DepthwiseConv2dNativeInputs; backend: NativeBackend; attrs: DepthwiseConv2dNativeAttrs},
): TensorInfo {
  const {inputs, backend, attrs} = args;
  const x = inputs.x as TensorInfo, filter = inputs.filter as TensorInfo;
  if (x.dtype !== 'float32' || filter.dtype !== 'float32' || (attrs.dataFormat ?? 'NHWC') !== 'NHWC') {
    return cpuFallback(DepthwiseConv2dNative, args);
  }
  const dilations = attrs.dilations ?? [1, 1];
  if (!backend_util.eitherStridesOrDilationsAreOne(attrs.strides, dilations)) {
    throw new Error(`DepthwiseConv2dNative: either strides or dilations must be 1, got strides ` +
      `${JSON.stringify(attrs.strides)} and dilations ${JSON.stringify(dilations)}`);
  }
  const info = backend_util.computeConv2DInfo(x.shape as [number, number, number, number],
    filter.shape as [number, number, number, number], attrs.strides, dilations, attrs.pad,
    attrs.dimRoundingMode, true /* depthwise */);
  const out = allocF32(util.sizeFromShape(info.outShape));
  backend.addon.depthwiseConv2d(backend.f32(x), backend.f32(filter), out, depthwiseGeometry(info));
  return backend.output(info.outShape, out);
}

export const depthwiseConv2dNativeConfig: KernelConfig = {
  kernelName: DepthwiseConv2dNative,
  backendName: 'native',
  kernelFunc: depthwiseConv2dNative as unknown as KernelConfig['kernelFunc'],
};
