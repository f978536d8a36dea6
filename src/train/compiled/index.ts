// The compiled training step for Sequential models of known layers (the engine uses it when it can).
export {compiledStep, compiledStepProblem} from './step.js';
export type {CompiledStepOptions} from './step.js';
export {cachedPlan, compileSequential, Plan} from './plan.js';
export type {CompileOptions, CompileResult, LayerTime} from './plan.js';
export {layerHandlers} from './layers.js';
