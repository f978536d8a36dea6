// FusedBatchNorm (tf.batchNorm): offset + (x - mean) * scale / sqrt(variance + eps), each parameter
// read cyclically along x's flat index as in the cpu kernel (in practice: over the last axis).
import {FusedBatchNorm} from '@tensorflow/tfjs-core';

import {cpuFallback} from '../fallback.js';
import {allocF32, f32Values, input, nativeKernel} from './elementwise_util.js';

export const fusedBatchNormConfig = nativeKernel(FusedBatchNorm, (args) => {
  const {inputs, backend, attrs} = args;
  const x = input(FusedBatchNorm, inputs, 'x'), mean = input(FusedBatchNorm, inputs, 'mean');
  const variance = input(FusedBatchNorm, inputs, 'variance');
  const {offset, scale} = inputs;
  const ranks = (name: string, r: number) => {
    if (r !== mean.shape.length) {
      throw new Error(`FusedBatchNorm: mean has rank ${mean.shape.length} but ${name} has rank ${r}; they must be equal`);
    }
  };
  ranks('variance', variance.shape.length);
  if (offset != null) ranks('offset', offset.shape.length);
  if (scale != null) ranks('scale', scale.shape.length);
  const xv = f32Values(backend, x), mv = f32Values(backend, mean), vv = f32Values(backend, variance);
  const ov = offset == null ? null : f32Values(backend, offset);
  const sv = scale == null ? null : f32Values(backend, scale);
  if (xv == null || mv == null || vv == null || (offset != null && ov == null) || (scale != null && sv == null)) {
    return cpuFallback(FusedBatchNorm, args);
  }
  const eps = attrs?.varianceEpsilon;
  const out = allocF32(xv.length);
  backend.addon.batchNorm(xv, mv, vv, ov, sv, out, typeof eps === 'number' ? eps : 0.001);
  return backend.makeTensorInfo(x.shape, 'float32', out);
});
