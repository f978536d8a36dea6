import {Min} from '@tensorflow/tfjs-core';
import type {MinAttrs, MinInputs, KernelConfig, TensorInfo} from '@tensorflow/tfjs-core';

import type {NativeBackend} from '../native_backend.js';
import {nativeReduce} from './reduce_util.js';

export function min(args: {inputs: MinInputs; backend: NativeBackend; attrs: MinAttrs}): TensorInfo {
  return nativeReduce(Min, 'min', args, args.attrs.axis, args.attrs.keepDims);
}

export const minConfig: KernelConfig = {
  kernelName: Min,
  backendName: 'native',
  kernelFunc: min as unknown as KernelConfig['kernelFunc'],
};
