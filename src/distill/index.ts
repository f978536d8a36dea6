export {Distiller, distillerLoss} from './distiller.js';
export type {DistillerCompileOptions, DistillerFitOptions, DistillerLossTerms, DistillerModels, LogitsTeacher} from './distiller.js';
export {
  KERAS_EPSILON,
  asLogits,
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
