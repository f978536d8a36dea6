// Importing this module registers the `file://` save and load routers.
import {registerFileRouters} from './file_io.js';

registerFileRouters();

export {fileRouter, fileSystem, loadModel, modelFiles, registerFileRouters, saveModel} from './file_io.js';
export type {ModelFiles, SaveOptions} from './file_io.js';
export {checkWeightSpec, storedBytes} from './weight_specs.js';
