// Datasets: MNIST (embedded or full), Fashion-MNIST and CIFAR-10 as seeded, validated splits.
export {loadDataset, datasetNames, datasetInputShape, defaultCacheDir} from './datasets.js';
export type {Dataset, DatasetName, LoadOptions} from './datasets.js';
export type {Split} from './split.js';
export {toTensors} from './tensors.js';
export {readIdx, writeIdx, parseIdx, encodeIdx} from './idx.js';
export type {IdxArray, ReadIdxOptions, WriteIdxOptions} from './idx.js';
export {readCifarBatch, parseCifarBatch, encodeCifarBatch} from './cifar.js';
export {exportIdx} from './export_idx.js';
export type {ExportIdxOptions} from './export_idx.js';
export {augmentAt, checkAugmentSpec, createAugmenter, isIdentity, mixedLabels} from './augment.js';
export type {AugmentedBatch, AugmentSpec} from './augment.js';
