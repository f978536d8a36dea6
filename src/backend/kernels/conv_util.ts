// Shared by the Conv2D family: geometry for the addon and the test for what runs natively.
import type {backend_util, TensorInfo} from '@tensorflow/tfjs-core';

/**
 * The addon's conv geometry from tfjs's own conv info (the cpu kernels use the same
 * `computeConv2DInfo`, so padding and rounding match them exactly).
 */
export function convGeometry(info: backend_util.Conv2DInfo): number[] {
  return [
    info.batchSize, info.inHeight, info.inWidth, info.inChannels,
    info.outHeight, info.outWidth, info.outChannels,
    info.filterHeight, info.filterWidth, info.strideHeight, info.strideWidth,
    info.dilationHeight, info.dilationWidth, info.padInfo.top, info.padInfo.left,
  ];
}

/** Native kernels take float32 NHWC data; anything else goes to the cpu kernel. */
export function convRunsNatively(tensors: TensorInfo[], dataFormat: string | undefined): boolean {
  return (dataFormat ?? 'NHWC') === 'NHWC' && tensors.every((t) => t.dtype === 'float32');
}
