// The `hafif` command line. Each subcommand lives in its own file and registers itself here.
import '../index.js'; // registers the native backend and the file:// model routers
import {Command, CommanderError} from 'commander';

import {UsageError} from '../util/registry.js';
import {compressCommand} from './compress.js';
import {demoCommand} from './demo.js';
import {benchInferenceCommand} from './bench_inference.js';
import {exportCommand} from './onnx.js';
import {pruneCommand} from './prune.js';
import {reportCommand} from './report.js';
import {runCommand} from './run.js';
import {quantizeCommand} from './quantize.js';
import {searchCommand} from './search.js';
import {distillCommand, evaluateCommand, trainCommand} from './train.js';
import {infoCommand} from './info.js';

/** Exit code for bad usage or bad input files. */
export const EXIT_USAGE = 2;

export function buildProgram(): Command {
  const program = new Command('hafif')
    .description('Lighter, faster neural networks on TensorFlow.js: knowledge distillation, pruning, quantization.')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  for (const cmd of [demoCommand(), trainCommand(), distillCommand(), evaluateCommand(), quantizeCommand(), pruneCommand(), compressCommand(),
    reportCommand(), runCommand(), searchCommand(), exportCommand(), benchInferenceCommand(), infoCommand()]) {
    program.addCommand(cmd.exitOverride().showHelpAfterError('(run with --help for usage)'));
  }
  return program;
}

/** Runs the CLI and returns the exit code: 0 ok, 2 bad usage or input, 1 our bug. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version exit through here with code 0; commander already printed the message.
      return e.exitCode === 0 ? 0 : EXIT_USAGE;
    }
    if (e instanceof UsageError) {
      process.stderr.write(`hafif: ${e.message}\n`);
      return EXIT_USAGE;
    }
    if ((e as Error)?.name === 'Interrupted') {
      process.stderr.write(`hafif: interrupted; ${(e as Error).message}\n`);
      return 130;
    }
    if ((e as Error)?.name === 'AbortError') {
      process.stderr.write('hafif: aborted\n');
      return 130;
    }
    throw e;
  }
}
