// Importing this module registers the `file://` save and load routers.
import {registerFileRouters} from './file_io.js';

registerFileRouters();

export {fileRouter, fileSystem, loadModel, registerFileRouters, saveModel} from './file_io.js';
