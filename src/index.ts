// hafif's public API.
import './backend/index.js';

export * as tf from './tf.js';
export {useBackend, nativeAvailable, NativeBackend} from './backend/index.js';
export type {BackendName} from './backend/index.js';
