// Inference through tfjs-layers' ReLU layer with maxValue 6 (ReLU6 in MobileNets) as one native
// Relu6 kernel instead of Relu followed by ClipByValue: one pass over the tensor instead of two.
// Relu6 is min(max(0, x), 6), the same values as clipByValue(relu(x), 0, 6) for every input (NaN,
// +-0, +-Inf included) and the same gradient, but training keeps the layer's own call (its Relu and
// ClipByValue gradients are native kernels, Relu6's is four tfjs ops).
import '@tensorflow/tfjs-layers';
import * as tf from '@tensorflow/tfjs-core';

/** The parts of tfjs-layers' ReLU the patch reads. */
interface ReluLayer {
  maxValue?: number | null;
  call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor | tf.Tensor[];
}

let patched = false;

/**
 * Makes tfjs-layers' ReLU with maxValue 6 run the Relu6 kernel when it is not training on the
 * native backend; everything else goes to the layer's own call. Idempotent; HAFIF_RELU6_LAYER=0
 * leaves the layer alone (for A/B benchmarks).
 */
export function installReluLayer(): void {
  if (patched || process.env.HAFIF_RELU6_LAYER === '0') return;
  const entry = tf.serialization.SerializationMap.getMap().classNameMap.ReLU;
  if (entry == null) throw new Error('tfjs-layers ReLU is not registered');
  const proto = (entry[0] as unknown as {prototype: ReluLayer}).prototype;
  const original = proto.call;
  proto.call = function (this: ReluLayer, inputs, kwargs) {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    if (this.maxValue !== 6 || kwargs?.training === true || tf.getBackend() !== 'native' || x.dtype !== 'float32' ||
      (Array.isArray(inputs) && inputs.length !== 1)) {
      return original.call(this, inputs, kwargs);
    }
    return tf.relu6(x);
  };
  patched = true;
}
