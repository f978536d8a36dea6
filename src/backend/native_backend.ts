import {MathBackendCPU} from '@tensorflow/tfjs-backend-cpu';
import type {DataId, TensorInfo} from '@tensorflow/tfjs-core';

import type {NativeAddon} from './addon.js';

/**
 * The `native` backend: the cpu backend's storage and kernels, with the hot kernels replaced by
 * C++ ones that read and write its typed arrays in place.
 */
export class NativeBackend extends MathBackendCPU {
  constructor(readonly addon: NativeAddon) {
    super();
    // The cpu backend's first write suggests installing tfjs-node; this backend is the answer to that.
    (this as unknown as {firstUse: boolean}).firstUse = false;
  }

  /** The float32 values of a tensor held by this backend (no copy). */
  f32(t: TensorInfo): Float32Array {
    const v = this.data.get(t.dataId).values;
    if (!(v instanceof Float32Array)) {
      throw new Error(`expected float32 values for tensor of shape [${t.shape}], got ${t.dtype}`);
    }
    return v;
  }

  /** Wraps a freshly computed Float32Array as a tensor of this backend. */
  output(shape: number[], values: Float32Array, dtype: 'float32' = 'float32'): TensorInfo {
    return this.makeTensorInfo(shape, dtype, values);
  }

  dataIdOf(t: TensorInfo): DataId {
    return t.dataId;
  }
}
