// hafif's public API.
import './backend/index.js';
import './io/index.js';

export * as tf from './tf.js';
export {useBackend, nativeAvailable, NativeBackend} from './backend/index.js';
export type {BackendName} from './backend/index.js';
export * from './infer/index.js';
export * from './distill/index.js';
export * from './train/index.js';
export * from './models/index.js';
export * from './io/index.js';
export * from './data/index.js';
export * from './experiment/index.js';
export * from './export/index.js';
export * from './quantize/index.js';
export * from './report/index.js';
export * from './prune/index.js';
