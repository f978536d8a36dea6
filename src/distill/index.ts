export {Distiller, distillerLoss} from './distiller.js';
export type {DistillerCompileOptions, DistillerFitOptions, DistillerLossTerms, DistillerModels, LogitsTeacher} from './distiller.js';
// The losses live in src/losses (shared with the training engine); re-exported here as before.
export {
  KERAS_EPSILON,
  asLogits,
  distillationKL,
  distillationLosses,
  distillationMSE,
  klDivergence,
  sparseCategoricalCrossentropy,
  studentLosses,
} from '../losses/index.js';
export type {
  DistillationLossFn,
  DistillationLossName,
  KlDivergenceOptions,
  OutputKind,
  StudentLossFn,
  StudentLossName,
} from '../losses/index.js';
