// Factories for the element-wise kernels: one native function per family (binary, unary), one op
// code per tfjs registry name. Anything but float32 values goes to the cpu kernel.
import {backend_util, util} from '@tensorflow/tfjs-core';
import type {KernelConfig, KernelFunc, NamedAttrMap, NamedTensorInfoMap, TensorInfo} from '@tensorflow/tfjs-core';

import type {NativeAddon} from '../addon.js';
import {bufferPool} from '../buffer_pool.js';
import {cpuFallback} from '../fallback.js';
import type {NativeBackend} from '../native_backend.js';

const POISON = process.env.HAFIF_POOL_POISON === '1';

/**
 * Output arrays for kernels that write every element: uninitialized memory, often a disposed
 * tensor's buffer from the pool (src/backend/buffer_pool.ts), never zeroed (`new Float32Array(n)`
 * means fresh pages and a page fault per 4 KiB on first write, ~6 ms for 4.7 MB).
 * HAFIF_POOL_POISON=1 fills them with NaN, so a kernel that skips an element fails its tests.
 */
export function allocF32(n: number): Float32Array {
  const a = bufferPool.alloc(n);
  if (POISON) a.fill(NaN);
  return a;
}
export function allocI32(n: number): Int32Array {
  const b = Buffer.allocUnsafeSlow(n * 4);
  return new Int32Array(b.buffer, b.byteOffset, n);
}
export function allocU8(n: number): Uint8Array {
  const b = Buffer.allocUnsafeSlow(n);
  return new Uint8Array(b.buffer, b.byteOffset, n);
}

/** What a kernel function receives, with our backend. */
export interface NativeKernelArgs {
  inputs: NamedTensorInfoMap;
  backend: NativeBackend;
  attrs?: NamedAttrMap;
}

/** Wraps a kernel written against NativeBackend as a tfjs KernelConfig for the `native` backend. */
export function nativeKernel(kernelName: string, fn: (args: NativeKernelArgs) => TensorInfo): KernelConfig {
  const kernelFunc: KernelFunc = ({inputs, backend, attrs}) =>
    fn({inputs, backend: backend as NativeBackend, attrs});
  return {kernelName, backendName: 'native', kernelFunc};
}

/**
 * The values of a float32 tensor when they are a Float32Array, else null. (The cpu backend's Cast
 * from int32 or bool to float32 keeps the old typed array, so dtype alone is not enough.)
 */
export function f32Values(backend: NativeBackend, t: TensorInfo | undefined): Float32Array | null {
  if (t == null || t.dtype !== 'float32') return null;
  const v = backend.data.get(t.dataId).values;
  return v instanceof Float32Array ? v : null;
}

/** The input `name` of a kernel call; a missing one is a usage error naming the kernel. */
export function input(kernelName: string, inputs: NamedTensorInfoMap, name: string): TensorInfo {
  const t = inputs[name];
  if (t == null) throw new Error(`${kernelName}: missing input '${name}'`);
  return t;
}

/** The numeric op code the addon uses for `kernelName`. */
export function opCode(addon: NativeAddon, table: 'binaryOps' | 'unaryOps', kernelName: string): number {
  const code = addon[table][kernelName];
  if (code === undefined) throw new Error(`${kernelName}: the native addon has no such ${table} entry (rebuild it)`);
  return code;
}

/** Broadcast shape of two operands; the error names the kernel. */
export function broadcastShape(kernelName: string, a: number[], b: number[]): number[] {
  try {
    return backend_util.assertAndGetBroadcastShape(a, b);
  } catch (e) {
    throw new Error(`${kernelName}: ${(e as Error).message}`);
  }
}

/** Deepest broadcast rank the native binary kernel takes (kMaxBroadcastRank in kernels.h). */
const MAX_NATIVE_RANK = 16;

/**
 * A binary kernel with NumPy broadcasting. `names` are the kernel's input names; comparisons
 * output `bool` (a Uint8Array of 0/1, as the cpu backend stores it).
 */
export function binaryKernel(
  kernelName: string,
  options: {names?: readonly [string, string]; output?: 'float32' | 'bool'} = {},
): KernelConfig {
  const [na, nb] = options.names ?? ['a', 'b'];
  const output = options.output ?? 'float32';
  return nativeKernel(kernelName, (args) => {
    const {inputs, backend} = args;
    const a = input(kernelName, inputs, na), b = input(kernelName, inputs, nb);
    const av = f32Values(backend, a), bv = f32Values(backend, b);
    if (av == null || bv == null) return cpuFallback(kernelName, args);
    const outShape = broadcastShape(kernelName, a.shape, b.shape);
    if (outShape.length > MAX_NATIVE_RANK) return cpuFallback(kernelName, args);
    const size = util.sizeFromShape(outShape);
    const out = output === 'bool' ? allocU8(size) : allocF32(size);
    backend.addon.binary(opCode(backend.addon, 'binaryOps', kernelName), av, bv, out, a.shape, b.shape);
    return backend.makeTensorInfo(outShape, output, out);
  });
}

/** A float32 unary kernel on input `x`; `alphaAttr` names a numeric attribute passed as alpha. */
export function unaryKernel(kernelName: string, options: {alphaAttr?: string} = {}): KernelConfig {
  return nativeKernel(kernelName, (args) => {
    const {inputs, backend, attrs} = args;
    const x = input(kernelName, inputs, 'x');
    const xv = f32Values(backend, x);
    if (xv == null) return cpuFallback(kernelName, args);
    let alpha = 0;
    if (options.alphaAttr != null) {
      const v = attrs?.[options.alphaAttr];
      if (typeof v !== 'number') return cpuFallback(kernelName, args);
      alpha = v;
    }
    const out = allocF32(xv.length);
    backend.addon.unary(opCode(backend.addon, 'unaryOps', kernelName), xv, out, alpha);
    return backend.makeTensorInfo(x.shape, 'float32', out);
  });
}
