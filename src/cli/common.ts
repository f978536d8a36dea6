// Flags and steps shared by the subcommands.
import {Command, Option} from 'commander';

import {useBackend, type BackendName} from '../backend/index.js';
import {datasetNames, loadDataset, type Dataset} from '../data/index.js';
import {RECOMMENDED_SETTINGS} from '../experiment/index.js';
import {oneOf, parseNonNegativeInt, parsePositive, parsePositiveInt, parseUnit} from './options.js';

export interface DataFlags {
  readonly dataset: string;
  readonly dataDir?: string;
  readonly limit?: number;
  readonly validationSplit?: number;
  readonly seed: number;
  readonly backend: BackendName;
  readonly batchSize: number;
  readonly json?: boolean;
  readonly quiet?: boolean;
}

/** --dataset, --data-dir, --limit, --validation-split, --seed, --backend, --batch-size, --json, --quiet. */
export function addDataFlags(cmd: Command): Command {
  return cmd
    .addOption(new Option('--dataset <name>', 'dataset').choices(datasetNames()).default('mnist'))
    .option('--data-dir <dir>', 'read the dataset files from DIR instead of the embedded set or the download cache')
    .option('--limit <n>', 'use at most N training examples', parsePositiveInt)
    .option('--validation-split <f>', 'hold out this fraction of the training set for the per-epoch validation figures (default: none; the test set is only read once, at the end)', parseUnit)
    .option('--seed <n>', 'seed of data splits, shuffling and weight initialization', parseNonNegativeInt, 0)
    .addOption(new Option('--backend <name>', 'TensorFlow.js backend').argParser(oneOf(['native', 'cpu'] as const)).default('native'))
    .option('--batch-size <n>', 'examples per training step', parsePositiveInt, 32)
    .option('--json', 'print machine-readable JSON on stdout')
    .option('--quiet', 'no progress output');
}

/** Activates the backend and loads the dataset named by the flags. */
export async function prepare(flags: DataFlags, onProgress?: (msg: string) => void): Promise<{backend: BackendName; data: Dataset}> {
  const backend = useBackend(flags.backend);
  const data = await loadDataset(flags.dataset, {
    dataDir: flags.dataDir,
    limit: flags.limit,
    validationSplit: flags.validationSplit,
    seed: flags.seed,
    onProgress,
  });
  return {backend, data};
}


/** --alpha, --temperature and --distillation-loss, as demo, distill and compress take them. */
export function alphaOption(): Option {
  return new Option('--alpha <a>', `weight of the hard-label loss, in [0, 1] (default ${RECOMMENDED_SETTINGS.alpha})`).argParser(parseUnit);
}

export function temperatureOption(): Option {
  return new Option('--temperature <t>', `softmax temperature of kl, > 0 (default ${RECOMMENDED_SETTINGS.temperature})`).argParser(parsePositive);
}

export function distillationLossOption(): Option {
  return new Option('--distillation-loss <name>', `kl or mse (default ${RECOMMENDED_SETTINGS.distillationLoss})`).argParser(oneOf(['kl', 'mse'] as const));
}
