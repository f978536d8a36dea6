export {kerasCnn, kerasTeacher, kerasStudent} from './keras.js';
export type {KerasCnnOptions} from './keras.js';
export {cifarStudent, cifarTeacher, deepTeacher, mobileStudent} from './convnets.js';
export type {ConvNetOptions} from './convnets.js';
export {createModel, models} from './registry.js';
export type {ModelFactory, ModelFactoryOptions, ModelName} from './registry.js';
export {formatBytes, formatCount, modelSize} from './size.js';
export type {LayerSize, ModelSize, ModelSizeOptions} from './size.js';
