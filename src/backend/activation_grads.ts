// One-kernel gradients for Relu and ClipByValue (tfjs-layers' ReLU and ReLU(maxValue)) on the
// native backend, instead of tfjs' 3 (Relu) and 5 (ClipByValue) kernel calls per layer. Gradients
// are registered per kernel, not per backend, so on any other backend the stock gradient runs.
import * as tf from '@tensorflow/tfjs-core';

import {HafifClipByValueGrad} from './kernels/HafifClipByValueGrad.js';
import {HafifReluGrad} from './kernels/HafifReluGrad.js';

let installed = false;

/** Replaces the Relu and ClipByValue gradients; idempotent. HAFIF_FUSED_ACT_GRAD=0 keeps tfjs' own. */
export function installActivationGradients(): void {
  if (installed || process.env.HAFIF_FUSED_ACT_GRAD === '0') return;
  for (const [kernelName, ours] of [[tf.Relu, HafifReluGrad], [tf.ClipByValue, HafifClipByValueGrad]] as const) {
    const stock = tf.getGradient(kernelName);
    if (stock == null) continue;  // tfjs-core alone registers no gradients; then there is nothing to replace
    tf.registerGradient({
      kernelName,
      inputsToSave: ['x'],
      gradFunc: (dy, saved, attrs) => {
        const [x] = saved;
        if (tf.getBackend() !== 'native' || x.dtype !== 'float32' || (dy as tf.Tensor).dtype !== 'float32') {
          return stock.gradFunc(dy, saved, attrs);
        }
        return {x: () => tf.engine().runKernel(ours, {dy: dy as tf.Tensor, x}, attrs) as tf.Tensor};
      },
    });
  }
  installed = true;
}
