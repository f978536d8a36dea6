// Losses over logits and their host kernels: shared by the training engine (train) and distillation (distill).
export {
  KERAS_EPSILON,
  asLogits,
  checkOutputKind,
  distillationKL,
  distillationLosses,
  distillationMSE,
  klDivergence,
  sparseCategoricalCrossentropy,
  studentLosses,
} from './losses.js';
export type {
  DistillationLossFn,
  DistillationLossName,
  KlDivergenceOptions,
  OutputKind,
  StudentLossFn,
  StudentLossName,
} from './losses.js';
export {crossEntropyHost, distillationKLHost, logitMseHost} from './host_kernels.js';
export {
  attentionMapHost,
  attentionTransferTensor,
  dkd,
  dkdHost,
  dkdTensor,
  hintHost,
  hintTensor,
  logitStandardizedKd,
  logitStandardizedKdHost,
  logitStandardizedKdTensor,
  smoothLabels,
  smoothTargets,
  softCrossEntropy,
  softCrossEntropyHost,
} from './kd_losses.js';
export type {DkdOptions, HintRegressor, HostLossValue, LogitStandardizationOptions} from './kd_losses.js';
