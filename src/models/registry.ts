import type * as tfl from '@tensorflow/tfjs-layers';

import {createRegistry} from '../util/registry.js';
import {cifarStudent, cifarTeacher, deepTeacher, mobileStudent} from './convnets.js';
import {kerasStudent, kerasTeacher} from './keras.js';
import {mlpStudent} from './mlp.js';

/** What every model factory takes. */
export interface ModelFactoryOptions {
  /** Input shape, height × width × channels. */
  readonly inputShape: readonly [number, number, number];
  readonly numClasses: number;
  /** Seed of the weight initializers: the same seed gives bit-identical initial weights. */
  readonly seed?: number;
}

/** Builds a fresh, uncompiled classifier that outputs logits. */
export type ModelFactory = (options: ModelFactoryOptions) => tfl.LayersModel;

/** Names of the built-in models. */
export type ModelName = 'keras-teacher' | 'keras-student' | 'cifar-teacher' | 'cifar-student' | 'deep-teacher'
  | 'mobile-student' | 'mlp-student';

/** Model factories by name; configs and CLI flags choose models from these keys. */
export const models = createRegistry<ModelFactory>('model');
models.register('keras-teacher', (o) => kerasTeacher(o));
models.register('keras-student', (o) => kerasStudent(o));
models.register('cifar-teacher', (o) => cifarTeacher(o));
models.register('cifar-student', (o) => cifarStudent(o));
models.register('deep-teacher', (o) => deepTeacher(o));
models.register('mobile-student', (o) => mobileStudent(o));
models.register('mlp-student', (o) => mlpStudent(o));

/**
 * A new model from the registry.
 * @example const student = createModel('keras-student', {inputShape: [28, 28, 1], numClasses: 10, seed: 1});
 */
export function createModel(name: ModelName | (string & {}), options: ModelFactoryOptions): tfl.LayersModel {
  return models.get(name)(options);
}
