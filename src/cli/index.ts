import {Command} from 'commander';

export function buildProgram(): Command {
  const program = new Command('hafif')
    .description('Lighter, faster neural networks on TensorFlow.js: distillation, pruning, quantization.')
    .version('0.1.0');
  return program;
}

/** Runs the CLI; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  await program.parseAsync(argv);
  return 0;
}
