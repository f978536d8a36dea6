export {constantSparsity, polynomialDecay, shouldPruneInStep} from './schedule.js';
export type {ConstantSparsityOptions, PolynomialDecayOptions, PruningSchedule, ScheduleDecision} from './schedule.js';
export {keepCount, magnitudeMasks, prunableWeights, PRUNABLE_CLASSES, topKMasks} from './magnitude.js';
export type {PrunableWeight, PruneScope} from './magnitude.js';
export {MagnitudePruner, sparsityReport, strip} from './pruner.js';
export type {LayerSparsity, MagnitudePrunerOptions, SparsityReport} from './pruner.js';
export {filterNorms, keptFilters, sliceAxis, structuredPrune} from './structured.js';
export type {FilterNorm, StructuredLayerReport, StructuredPruneOptions, StructuredPruneResult} from './structured.js';
