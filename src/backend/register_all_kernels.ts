// Every kernel of the `native` backend. Kernels not listed here are the cpu backend's own.
import type {KernelConfig} from '@tensorflow/tfjs-core';

import {batchMatMulConfig} from './kernels/BatchMatMul.js';

export const nativeKernelConfigs: KernelConfig[] = [
  // -- gemm --
  batchMatMulConfig,
  // -- conv --
  // -- pool --
  // -- elementwise --
  // -- reduce --
];
