export {
  batchAccuracy,
  evaluate,
  evaluateExamples,
  fit,
  kerasAdam,
  measureInference,
  outputClasses,
  trainableVariables,
  trainLoop,
} from './trainer.js';
export type {
  Batch,
  EpochLogs,
  EvaluateOptions,
  Evaluation,
  FitOptions,
  History,
  InferenceSpeed,
  Logs,
  LoopOptions,
  StepFn,
  TrainCallbacks,
  ValidateFn,
} from './trainer.js';
export {HostExamples, labelsToInt32} from './examples.js';
export type {HostArray, Inputs, Labels, NumericArray} from './examples.js';
export {HostAdam} from './adam.js';
export type {AdamOptions} from './adam.js';
export {confusionMatrix} from './confusion.js';
