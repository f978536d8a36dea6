import {Max} from '@tensorflow/tfjs-core';
import type {MaxAttrs, MaxInputs, KernelConfig, TensorInfo} from '@tensorflow/tfjs-core';

import type {NativeBackend} from '../native_backend.js';
import {nativeReduce} from './reduce_util.js';

export function max(args: {inputs: MaxInputs; backend: NativeBackend; attrs: MaxAttrs}): TensorInfo {
  return nativeReduce(Max, 'max', args, args.attrs.reductionIndices, args.attrs.keepDims);
}

export const maxConfig: KernelConfig = {
  kernelName: Max,
  backendName: 'native',
  kernelFunc: max as unknown as KernelConfig['kernelFunc'],
};
