import './util/chained_ops.js';
// The TensorFlow.js namespace hafif uses: tfjs-core and tfjs-layers, as `@tensorflow/tfjs` does.
export * from '@tensorflow/tfjs-core';
export * from '@tensorflow/tfjs-layers';
