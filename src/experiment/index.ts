// The experiment as a library: settings, phases, results and the comparison table.
export {COMPRESS_DEFAULTS, KERAS_SETTINGS, QUICK_EVIDENCE, QUICK_SETTINGS, RECOMMENDED_EVIDENCE, RECOMMENDED_SETTINGS, defaultModels, expectedGainNote} from './settings.js';
export type {ExperimentSettings, RecipeEvidence} from './settings.js';
export {comparisonTable, summarize} from './results.js';
export type {ExperimentReport, RunResult} from './results.js';
export {PHASES, fineTuneSchedule, runExperiment, runIdentity, teacherPhases} from './pipeline.js';
export type {ExperimentOptions, ExperimentResult, PhaseName, PhaseProgress, TeacherPhase} from './pipeline.js';
export {applyOverrides, configDataset, configSchema, configSettings, configYaml, loadConfig, parseConfigText, resolveConfig} from './config.js';
export type {ExperimentConfig, ExperimentConfigInput} from './config.js';
export {augmentLabel, checkSearchConfig, teacherKey, runSearch, scheduleLabel, searchReport, searchSettings, searchTable, settingLabel} from './search.js';
export type {ChosenTest, RunRecord, SearchConfig, SearchEvents, SearchReport, SearchSetting, SearchSpace, SettingSummary, TeacherRecipe, TrainRecipe} from './search.js';
export {augmentationOf, labelsTrainingOptions, memberSeed, parseAugment, parseSchedule, scheduleHooks} from './recipe.js';
