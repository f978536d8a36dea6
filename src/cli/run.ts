// `hafif run CONFIG`: the experiment one YAML or JSON file describes; the resolved config is
// written next to the results, and `hafif run DIR/config.yaml` repeats the run.
import {Command} from 'commander';
import {existsSync, readFileSync} from 'node:fs';
import path from 'node:path';

import {useBackend} from '../backend/index.js';
import {loadDataset} from '../data/index.js';
import {configSettings, configYaml, loadConfig} from '../experiment/index.js';
import {writeFileAtomic} from '../util/atomic.js';
import {execute} from './execute.js';
import {parsePositiveInt} from './options.js';
import {Reporter} from './progress.js';
import {UsageError} from '../util/registry.js';

interface RunFlags {
  readonly set: string[];
  readonly dryRun?: boolean;
  readonly out?: string;
  readonly json?: boolean;
  readonly quiet?: boolean;
  readonly resume?: boolean;
  readonly checkpointEvery?: number;
}

export function runCommand(): Command {
  return new Command('run')
    .description('run the experiment a config file (YAML or JSON) describes; see configs/ for examples')
    .argument('<config>', 'config file, e.g. configs/recommended.yaml or a run directory\'s config.yaml')
    .option('--set <field=value>', 'override one field, e.g. --set distill.alpha=0.5 (repeatable)', (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option('--dry-run', 'print the resolved config (every default filled in) and stop')
    .option('--out <dir>', 'the run directory (default: hafif-out/NAME, NAME the config\'s name or file name)')
    .option('--json', 'print progress events and the results as JSON lines on stdout')
    .option('--quiet', 'no progress output')
    .option('--resume', 'continue the run in the run directory from its last checkpoint (the same config)')
    .option('--checkpoint-every <n>', 'also checkpoint every N steps (checkpoints are kept at every epoch end and on Ctrl-C)', parsePositiveInt)
    .action(async (file: string, flags: RunFlags) => {
      const config = await loadConfig(file, flags.set);
      if (flags.dryRun) {
        process.stdout.write(flags.json ? JSON.stringify(config) + '\n' : configYaml(config));
        return;
      }
      const name = config.name ?? path.basename(file).replace(/\.(ya?ml|json)$/i, '');
      const out = path.resolve(flags.out ?? path.join('hafif-out', name));
      const reporter = new Reporter({json: flags.json, quiet: flags.quiet});
      const backend = useBackend(config.backend);
      const data = await loadDataset(config.dataset.name, {
        dataDir: config.dataset.dataDir,
        limit: config.dataset.limit,
        testLimit: config.dataset.testLimit,
        validationSplit: config.dataset.validationSplit,
        seed: config.seed,
        onProgress: (msg) => reporter.info(msg),
      });
      const yaml = configYaml(config);
      const written = path.join(out, 'config.yaml');
      if (flags.resume) {
        if (!existsSync(written)) throw new UsageError(`--resume: ${out} holds no config.yaml; it is not a hafif run directory`);
        // The run's own config stays as it was: resuming with another config is an error, not an overwrite.
        if (readFileSync(written, 'utf8') !== yaml) {
          throw new UsageError(`--resume: ${file} (with --set) differs from the run's ${written}; resume with that file: hafif run ${written} --resume`);
        }
      } else {
        await writeFileAtomic(written, yaml);
      }
      await execute({
        backend, data, out, reporter,
        settings: configSettings(config),
        json: flags.json,
        report: config.report,
        cacheTeacherLogits: config.distill.cacheTeacherLogits,
        resume: flags.resume === true,
        checkpointEvery: flags.checkpointEvery,
        resumeCommand: `hafif run ${written} --out ${out} --resume`,
      });
    });
}
