export {
  batchAccuracy,
  checkPositiveInteger,
  createTrainStep,
  hostAccuracy,
  hostLoss,
  tapeReason,
  trainableVariables,
  trainLoop,
  TrainingAborted,
} from './engine.js';
export type {
  AugmentInfo,
  Batch,
  Callback,
  CallbackContext,
  EpochLogs,
  History,
  HostLossResult,
  LoopOptions,
  LoopRun,
  Logs,
  LossTensors,
  LossTerm,
  RunContext,
  StepContext,
  StepFn,
  TeacherSource,
  TrainHook,
  TrainPosition,
  TrainStepOptions,
  ValidateFn,
} from './engine.js';
export {
  evaluate,
  evaluateExamples,
  fit,
  fitStep,
  kerasAdam,
  measureInference,
  outputClasses,
  resolveStudentLoss,
  shapeString,
  studentLossTerm,
  validationFn,
} from './trainer.js';
export type {EvaluateOptions, Evaluation, FitOptions, FitStepOptions, InferenceSpeed} from './trainer.js';
export {maskOptimizerState, restoreOptimizerState, saveOptimizerState} from './optimizer_state.js';
export type {SavedOptimizerState} from './optimizer_state.js';
export {HostExamples, labelsToInt32} from './examples.js';
export type {HostArray, Inputs, Labels, NumericArray} from './examples.js';
export {HostAdam} from './adam.js';
export type {AdamOptions} from './adam.js';
export {
  checkIdentity,
  checkpointCallback,
  latestCheckpoint,
  listCheckpoints,
  readCheckpoint,
  restoreCheckpoint,
  saveCheckpoint,
} from './checkpoint.js';
export type {Checkpoint, CheckpointCallbackOptions, RunIdentity} from './checkpoint.js';
export {batchAugmentation, crossEntropyTerm} from './augmentation.js';
export type {BatchAugmentation, CrossEntropyTermOptions} from './augmentation.js';
export {checkScheduleSpec, createSchedule, scheduleHook} from './schedules.js';
export type {Schedule, ScheduleName, ScheduleSpec, ScheduleValue} from './schedules.js';
export {earlyStopping, terminateOnNaN} from './callbacks.js';
export type {EarlyStoppingOptions, EarlyStoppingState} from './callbacks.js';
export {confusionMatrix} from './confusion.js';
