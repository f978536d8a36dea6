export {kerasCnn, kerasTeacher, kerasStudent} from './keras.js';
export type {KerasCnnOptions} from './keras.js';
