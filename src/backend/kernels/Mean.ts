import {Mean} from '@tensorflow/tfjs-core';
import type {MeanAttrs, MeanInputs, KernelConfig, TensorInfo} from '@tensorflow/tfjs-core';

import type {NativeBackend} from '../native_backend.js';
import {nativeReduce} from './reduce_util.js';

export function mean(args: {inputs: MeanInputs; backend: NativeBackend; attrs: MeanAttrs}): TensorInfo {
  return nativeReduce(Mean, 'mean', args, args.attrs.axis, args.attrs.keepDims);
}

export const meanConfig: KernelConfig = {
  kernelName: Mean,
  backendName: 'native',
  kernelFunc: mean as unknown as KernelConfig['kernelFunc'],
};
