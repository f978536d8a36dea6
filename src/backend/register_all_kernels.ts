// Every kernel of the `native` backend. Kernels not listed here are the cpu backend's own.
import type {KernelConfig} from '@tensorflow/tfjs-core';

import {batchMatMulConfig} from './kernels/BatchMatMul.js';
import {sumConfig} from './kernels/Sum.js';
import {meanConfig} from './kernels/Mean.js';
import {prodConfig} from './kernels/Prod.js';
import {maxConfig} from './kernels/Max.js';
import {minConfig} from './kernels/Min.js';
import {argMaxConfig} from './kernels/ArgMax.js';
import {argMinConfig} from './kernels/ArgMin.js';
import {softmaxConfig} from './kernels/Softmax.js';
import {transposeConfig} from './kernels/Transpose.js';
import {padV2Config} from './kernels/PadV2.js';
import {concatConfig} from './kernels/Concat.js';
import {sliceConfig} from './kernels/Slice.js';
import {tileConfig} from './kernels/Tile.js';
import {avgPoolConfig} from './kernels/AvgPool.js';
import {avgPoolGradConfig} from './kernels/AvgPoolGrad.js';
import {maxPoolConfig} from './kernels/MaxPool.js';
import {maxPoolGradConfig} from './kernels/MaxPoolGrad.js';
import {fusedMatMulConfig} from './kernels/_FusedMatMul.js';
import {depthwiseConv2dNativeConfig} from './kernels/DepthwiseConv2dNative.js';
import {depthwiseConv2dNativeBackpropFilterConfig} from './kernels/DepthwiseConv2dNativeBackpropFilter.js';
import {depthwiseConv2dNativeBackpropInputConfig} from './kernels/DepthwiseConv2dNativeBackpropInput.js';
import {conv2DConfig} from './kernels/Conv2D.js';
import {conv2DBackpropFilterConfig} from './kernels/Conv2DBackpropFilter.js';
import {conv2DBackpropInputConfig} from './kernels/Conv2DBackpropInput.js';
import {fusedConv2DConfig} from './kernels/FusedConv2D.js';
import {clipByValueConfig} from './kernels/ClipByValue.js';
import {logicalAndConfig} from './kernels/LogicalAnd.js';
import {hafifClipByValueGradConfig} from './kernels/HafifClipByValueGrad.js';
import {hafifReluGradConfig} from './kernels/HafifReluGrad.js';
import {hafifBatchNormTrainConfig} from './kernels/HafifBatchNormTrain.js';
import {hafifBatchNormTrainGradConfig} from './kernels/HafifBatchNormTrainGrad.js';
// -- elementwise --
import {addConfig} from './kernels/Add.js';
import {subConfig} from './kernels/Sub.js';
import {multiplyConfig} from './kernels/Multiply.js';
import {realDivConfig} from './kernels/RealDiv.js';
import {maximumConfig} from './kernels/Maximum.js';
import {minimumConfig} from './kernels/Minimum.js';
import {squaredDifferenceConfig} from './kernels/SquaredDifference.js';
import {powConfig} from './kernels/Pow.js';
import {greaterConfig} from './kernels/Greater.js';
import {greaterEqualConfig} from './kernels/GreaterEqual.js';
import {lessConfig} from './kernels/Less.js';
import {lessEqualConfig} from './kernels/LessEqual.js';
import {equalConfig} from './kernels/Equal.js';
import {notEqualConfig} from './kernels/NotEqual.js';
import {preluConfig} from './kernels/Prelu.js';
import {eluGradConfig} from './kernels/EluGrad.js';
import {negConfig} from './kernels/Neg.js';
import {squareConfig} from './kernels/Square.js';
import {sqrtConfig} from './kernels/Sqrt.js';
import {rsqrtConfig} from './kernels/Rsqrt.js';
import {expConfig} from './kernels/Exp.js';
import {logConfig} from './kernels/Log.js';
import {log1pConfig} from './kernels/Log1p.js';
import {absConfig} from './kernels/Abs.js';
import {reciprocalConfig} from './kernels/Reciprocal.js';
import {reluConfig} from './kernels/Relu.js';
import {relu6Config} from './kernels/Relu6.js';
import {leakyReluConfig} from './kernels/LeakyRelu.js';
import {eluConfig} from './kernels/Elu.js';
import {sigmoidConfig} from './kernels/Sigmoid.js';
import {tanhConfig} from './kernels/Tanh.js';
import {softplusConfig} from './kernels/Softplus.js';
import {stepConfig} from './kernels/Step.js';
import {selectConfig} from './kernels/Select.js';
import {castConfig} from './kernels/Cast.js';
import {addNConfig} from './kernels/AddN.js';
import {fusedBatchNormConfig} from './kernels/FusedBatchNorm.js';

export const nativeKernelConfigs: KernelConfig[] = [
  // -- gemm --
  batchMatMulConfig,
  fusedMatMulConfig,
  depthwiseConv2dNativeConfig,
  depthwiseConv2dNativeBackpropInputConfig,
  depthwiseConv2dNativeBackpropFilterConfig,
  // -- conv --
  conv2DConfig,
  conv2DBackpropInputConfig,
  conv2DBackpropFilterConfig,
  fusedConv2DConfig,
  // -- pool --
  maxPoolConfig,
  maxPoolGradConfig,
  avgPoolConfig,
  avgPoolGradConfig,
  // -- elementwise --
  addConfig,
  subConfig,
  multiplyConfig,
  realDivConfig,
  maximumConfig,
  minimumConfig,
  squaredDifferenceConfig,
  powConfig,
  greaterConfig,
  greaterEqualConfig,
  lessConfig,
  lessEqualConfig,
  equalConfig,
  notEqualConfig,
  preluConfig,
  eluGradConfig,
  negConfig,
  squareConfig,
  sqrtConfig,
  rsqrtConfig,
  expConfig,
  logConfig,
  log1pConfig,
  absConfig,
  reciprocalConfig,
  reluConfig,
  relu6Config,
  leakyReluConfig,
  eluConfig,
  sigmoidConfig,
  tanhConfig,
  softplusConfig,
  stepConfig,
  selectConfig,
  castConfig,
  addNConfig,
  fusedBatchNormConfig,
  clipByValueConfig,
  hafifClipByValueGradConfig,
  hafifReluGradConfig,
  logicalAndConfig,
  hafifBatchNormTrainConfig,
  hafifBatchNormTrainGradConfig,
  // -- reduce --
  sumConfig,
  meanConfig,
  prodConfig,
  maxConfig,
  minConfig,
  argMaxConfig,
  argMinConfig,
  softmaxConfig,
  transposeConfig,
  padV2Config,
  concatConfig,
  sliceConfig,
  tileConfig,
];
