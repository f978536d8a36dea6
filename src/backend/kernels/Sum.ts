import {Sum} from '@tensorflow/tfjs-core';
import type {SumAttrs, SumInputs, KernelConfig, TensorInfo} from '@tensorflow/tfjs-core';

import type {NativeBackend} from '../native_backend.js';
import {nativeReduce} from './reduce_util.js';

export function sum(args: {inputs: SumInputs; backend: NativeBackend; attrs: SumAttrs}): TensorInfo {
  return nativeReduce(Sum, 'sum', args, args.attrs.axis, args.attrs.keepDims);
}

export const sumConfig: KernelConfig = {
  kernelName: Sum,
  backendName: 'native',
  kernelFunc: sum as unknown as KernelConfig['kernelFunc'],
};
