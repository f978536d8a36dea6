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
