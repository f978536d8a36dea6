// Fused inference for tfjs-layers Sequential models on the native backend (imports backend only).
export {createPredictor} from './predictor.js';
export type {Predictor, PredictorOptions} from './predictor.js';
