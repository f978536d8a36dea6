export {
  affineParams,
  dequantizeWeights,
  fromFloat16Bits,
  modelArtifacts,
  quantizeAffine,
  quantizeFloat16,
  quantizeWeights,
  roundHalfEven,
  saveQuantized,
  toFloat16Bits,
  WEIGHT_DTYPES,
} from './weights.js';
export type {AffineParams, QuantizedArtifacts, QuantizedWeight, WeightDtype, WeightQuantizationOptions} from './weights.js';
export {cloneSequential, foldablePairs, foldBatchNorm} from './fold.js';
export {
  activationParams,
  CALIBRATION_METHODS,
  calibrate,
  channelScales,
  fakeQuantize,
  Int8Simulation,
  quantizationFile,
  quantizationPoints,
  saveInt8,
} from './int8.js';
export type {
  ActivationParams,
  Calibration,
  CalibrationMethod,
  CalibrationOptions,
  QuantizationFile,
  SimulationOptions,
  TensorRange,
  WeightParams,
} from './int8.js';
export {fakeQuantizeKernel, QuantizationAware} from './qat.js';
export type {QatOptions} from './qat.js';
