import {MathBackendCPU} from '@tensorflow/tfjs-backend-cpu';
import type {BackendValues, DataId, DataType, TensorInfo} from '@tensorflow/tfjs-core';

import type {NativeAddon} from './addon.js';
import {bufferPool} from './buffer_pool.js';

/**
 * The `native` backend: the cpu backend's storage and kernels, with the hot kernels replaced by
 * C++ ones that read and write its typed arrays in place. A removed data entry's Float32Array goes
 * back to the buffer pool when nothing else can see it: every way values enter storage (`write`,
 * `move`) or leave it (`readSync`, `read`; `bufferSync`, `dataSync`, `data` and `arraySync` go
 * through these) tells the pool.
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

  override write(values: BackendValues, shape: number[], dtype: DataType): DataId {
    bufferPool.adopt(values);
    return super.write(values, shape, dtype);
  }

  override move(dataId: DataId, values: BackendValues, shape: number[], dtype: DataType, refCount: number): void {
    bufferPool.adopt(values);
    super.move(dataId, values, shape, dtype, refCount);
  }

  override readSync(dataId: DataId): BackendValues {
    const values = super.readSync(dataId);
    bufferPool.escape(values);
    return values;
  }

  override read(dataId: DataId): Promise<BackendValues> {
    // The cpu backend's read is readSync in a promise; escape before the caller can dispose.
    return Promise.resolve(this.readSync(dataId));
  }

  override disposeData(dataId: DataId, force = false): boolean {
    const entry = this.data.has(dataId) ? this.data.get(dataId) : undefined;
    const removed = super.disposeData(dataId, force);
    if (entry !== undefined && !this.data.has(dataId)) bufferPool.release(entry.values);
    return removed;
  }
}
