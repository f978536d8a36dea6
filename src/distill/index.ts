export {DISTILLER_LOSSES, Distiller, distillerLoss} from './distiller.js';
export {checkFeatureLoss, featureTerm, parseFeatureLoss} from './features.js';
export type {FeatureLossSpec, FeatureTerm} from './features.js';
export type {DistillerCompileOptions, DistillerFitOptions, DistillerLossName, DistillerLossTerms, DistillerModels, LogitsTeacher, Teacher, TeacherView} from './distiller.js';
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
export {
  attentionTransferTensor,
  dkd,
  dkdHost,
  dkdTensor,
  hintHost,
  hintTensor,
  logitStandardizedKd,
  logitStandardizedKdHost,
  logitStandardizedKdTensor,
  softCrossEntropy,
} from '../losses/index.js';
export type {DkdOptions, HintRegressor, LogitStandardizationOptions} from '../losses/index.js';
