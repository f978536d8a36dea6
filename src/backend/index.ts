// The `native` backend: registered and made active on import when the addon is built.
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';

import {addon, addonError, rebuildCommand} from './addon.js';
import {installActivationGradients} from './activation_grads.js';
import {installBatchNormLayer} from './batch_norm.js';
import {bufferPool} from './buffer_pool.js';
import {allocF32} from './kernels/elementwise_util.js';
import {NativeBackend} from './native_backend.js';
import {nativeKernelConfigs} from './register_all_kernels.js';
import {installReluLayer} from './relu_layer.js';

export {NativeBackend} from './native_backend.js';
export {addon, addonError, addonFile, loadAddon, rebuildCommand} from './addon.js';
export type {NativeAddon} from './addon.js';
export {batchNormTraining} from './batch_norm.js';
export type {BatchNormTrainingOptions, BatchNormTrainingResult} from './batch_norm.js';

/** Backend names hafif accepts. */
export type BackendName = 'native' | 'cpu';

/**
 * `n` floats to fill and hand to `tf.tensor` on the active backend: on `native` a buffer from its
 * pool (uninitialised: the caller writes every element; a disposed tensor's buffer comes back to
 * the pool), elsewhere a fresh array.
 */
export function tensorBuffer(n: number): Float32Array {
  return tf.getBackend() === 'native' ? allocF32(n) : new Float32Array(n);
}

let registered = false;

/**
 * Cpu kernels whose only link to their inputs is a shared dataId (incRef), which the backend's
 * refCount covers (read in tfjs-backend-cpu 4.22 dist/kernels).
 */
const SHARES_DATA_ID_ONLY = new Set<string>([tf.Reshape, tf.Identity]);

/**
 * A cpu kernel may return a view or the array of an input (contiguous Slice, Unpack, Complex...),
 * so the buffers of its inputs never go back to the buffer pool.
 */
function escapingInputs(k: tf.KernelConfig): tf.KernelFunc {
  const f = k.kernelFunc;
  if (SHARES_DATA_ID_ONLY.has(k.kernelName)) return f;
  return (args) => {
    const data = (args.backend as NativeBackend).data;
    for (const name in args.inputs) {
      const t = args.inputs[name];
      if (t != null && data.has(t.dataId)) bufferPool.escape(data.get(t.dataId).values);
    }
    return f(args);
  };
}

function registerNative(): boolean {
  if (registered) return true;
  if (addon == null) return false;
  const native = addon;
  tf.registerBackend('native', () => new NativeBackend(native), 3);
  const ours = new Set(nativeKernelConfigs.map((k) => k.kernelName));
  for (const k of nativeKernelConfigs) tf.registerKernel(k);
  for (const k of tf.getKernelsForBackend('cpu')) {
    if (!ours.has(k.kernelName)) tf.registerKernel({...k, backendName: 'native', kernelFunc: escapingInputs(k)});
  }
  installBatchNormLayer();
  installReluLayer();
  installActivationGradients();
  registered = true;
  return true;
}

let warned = false;

/**
 * Makes `name` the active TensorFlow.js backend. Asking for `native` without a built addon falls
 * back to `cpu` with one warning line; `strict` makes that an error instead.
 */
export function useBackend(name: BackendName, options: {strict?: boolean} = {}): BackendName {
  if (name === 'native' && !registerNative()) {
    if (options.strict) throw new Error(`native backend unavailable: ${addonError}`);
    if (!warned) {
      warned = true;
      process.stderr.write(
        `hafif: native addon unavailable (${addonError}); using the slow cpu backend. ` +
          `For the fast path run \`${rebuildCommand}\` (needs a C++ toolchain).\n`,
      );
    }
    name = 'cpu';
  }
  if (tf.getBackend() !== name) void tf.setBackend(name);
  // The cpu backend's first write suggests installing tfjs-node; hafif already said what to do.
  if (name === 'cpu') (tf.backend() as unknown as {firstUse: boolean}).firstUse = false;
  if (tf.getBackend() !== name) throw new Error(`could not activate backend ${name}`);
  return name;
}

/** True when the native addon is built and its backend registered. */
export function nativeAvailable(): boolean {
  return registerNative();
}

useBackend('native');
