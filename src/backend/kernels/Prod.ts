import {Prod} from '@tensorflow/tfjs-core';
import type {ProdAttrs, ProdInputs, KernelConfig, TensorInfo} from '@tensorflow/tfjs-core';

import type {NativeBackend} from '../native_backend.js';
import {nativeReduce} from './reduce_util.js';

export function prod(args: {inputs: ProdInputs; backend: NativeBackend; attrs: ProdAttrs}): TensorInfo {
  return nativeReduce(Prod, 'prod', args, args.attrs.axis, args.attrs.keepDims);
}

export const prodConfig: KernelConfig = {
  kernelName: Prod,
  backendName: 'native',
  kernelFunc: prod as unknown as KernelConfig['kernelFunc'],
};
