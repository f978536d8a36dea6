import {backend_util, FusedConv2D, util} from '@tensorflow/tfjs-core';
import type {FusedConv2DAttrs, FusedConv2DInputs, KernelConfig, TensorInfo} from '@tensorflow/tfjs-core';

import {cpuFallback} from '../fallback.js';
import type {NativeBackend} from '../native_backend.js';
import {allocF32} from './elementwise_util.js';
import {convGeometry, convRunsNatively} from './conv_util.js';

const nativeActivations = new Set(['linear', 'relu', 'relu6', 'elu', 'sigmoid', 'leakyrelu'] as const);
type NativeActivation = typeof nativeActivations extends Set<infer T> ? T : never;

function isNativeActivation(a: string): a is NativeActivation {
  return nativeActivations.has(a as NativeActivation);
}

/**
 * The bias as one value per output channel, or null when it broadcasts some other way (then the
 * cpu kernel handles it). A scalar bias is repeated over the channels.
 */
function channelBias(backend: NativeBackend, bias: TensorInfo, outChannels: number): Float32Array | null {
  const size = util.sizeFromShape(bias.shape);
  if (bias.dtype !== 'float32' || bias.shape.length > 4) return null;
  if (size === 1) return new Float32Array(outChannels).fill(backend.f32(bias)[0]);
  if (size === outChannels && bias.shape[bias.shape.length - 1] === outChannels) return backend.f32(bias);
  return null;
}

/** Conv2D + bias add + activation in one pass over the output; prelu falls back to the cpu kernel. */
export function fusedConv2D(args: {inputs: FusedConv2DInputs; backend: NativeBackend; attrs: FusedConv2DAttrs}): TensorInfo {
  const {inputs, backend, attrs} = args;
  const x = inputs.x as TensorInfo, filter = inputs.filter as TensorInfo;
  const activation = attrs.activation ?? 'linear';
  if (!convRunsNatively([x, filter], attrs.dataFormat) || !isNativeActivation(activation)) {
    return cpuFallback(FusedConv2D, args);
  }
  const info = backend_util.computeConv2DInfo(x.shape as [number, number, number, number],
    filter.shape as [number, number, number, number], attrs.strides, attrs.dilations, attrs.pad,
    attrs.dimRoundingMode, false, 'channelsLast');
  let bias: Float32Array | null = null;
  if (inputs.bias != null) {
    bias = channelBias(backend, inputs.bias, info.outChannels);
    if (bias == null) return cpuFallback(FusedConv2D, args);
  }
  const out = allocF32(util.sizeFromShape(info.outShape));
  backend.addon.conv2d(backend.f32(x), backend.f32(filter), bias, out, convGeometry(info), activation,
    attrs.leakyreluAlpha ?? 0.2);
  return backend.output(info.outShape, out);
}

export const fusedConv2DConfig: KernelConfig = {
  kernelName: FusedConv2D,
  backendName: 'native',
  kernelFunc: fusedConv2D as unknown as KernelConfig['kernelFunc'],
};
