// Fused inference for tfjs-layers models on the native backend (imports backend only): the
// predictor, and model.predict / predictOnBatch through the same plan (installed on import).
import {installPredictPlan} from './model_predict.js';

export {createPredictor} from './predictor.js';
export type {Predictor, PredictorOptions} from './predictor.js';
export {installPredictPlan} from './model_predict.js';

installPredictPlan();
