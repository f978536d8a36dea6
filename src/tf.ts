import './util/chained_ops.js';
// The TensorFlow.js namespace hafif uses: tfjs-core and tfjs-layers, as `@tensorflow/tfjs` does.
export * from '@tensorflow/tfjs-core';
export * from '@tensorflow/tfjs-layers';
// Types only, erased at run time: tfjs-core's declarations of the Tensor methods chained_ops.ts adds.
export type * from '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops.js';
