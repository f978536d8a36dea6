import {backend_util} from '@tensorflow/tfjs-core';
import type {TensorInfo} from '@tensorflow/tfjs-core';

/** The pooling attributes shared by MaxPool, AvgPool and their gradients. */
export interface PoolAttrs {
  filterSize: [number, number] | number;
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | backend_util.ExplicitPadding;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/**
 * The native pool geometry of an NHWC input, from tfjs computePool2DInfo exactly as the cpu
 * kernels compute it: [batch, inH, inW, channels, outH, outW, filterH, filterW, strideH, strideW,
 * padTop, padLeft]. Null when the case is one the native kernels leave to cpu (dilation,
 * non-integer sizes).
 */
export function poolGeometry(x: TensorInfo, attrs: PoolAttrs): {geom: number[]; info: backend_util.Conv2DInfo} | null {
  if (x.shape.length !== 4) return null;
  const info = backend_util.computePool2DInfo(x.shape as [number, number, number, number], attrs.filterSize,
    attrs.strides, 1, attrs.pad, attrs.dimRoundingMode);
  if (info.dilationHeight !== 1 || info.dilationWidth !== 1 || info.dataFormat !== 'channelsLast') return null;
  const geom = [info.batchSize, info.inHeight, info.inWidth, info.inChannels, info.outHeight, info.outWidth,
    info.filterHeight, info.filterWidth, info.strideHeight, info.strideWidth, info.padInfo.top, info.padInfo.left];
  // Non-integer sizes (a numeric pad without a rounding mode) are left to cpu.
  if (!geom.every((v) => Number.isInteger(v))) return null;
  return {geom, info};
}

/**
 * tfjs's pooling kernels (cpu, webgl) return their input unchanged for a 1x1 window whose output
 * has the input's shape, whatever the strides and padding would select (tfjs-core's pool tests
 * expect it: x=[2,2,3], f=1, s=2, p=1). The forward kernels leave that case to cpu's identity;
 * the gradient kernels do not, as cpu's gradients follow the window geometry there.
 */
export function isIdentityPool(info: backend_util.Conv2DInfo): boolean {
  return info.filterHeight === 1 && info.filterWidth === 1 &&
    info.inShape.length === info.outShape.length && info.inShape.every((d, i) => d === info.outShape[i]);
}
