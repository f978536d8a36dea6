// Ctrl-C and SIGTERM: the first stops training at the next step (the run saves a checkpoint and
// the command exits with 130); a second one exits at once.
export async function interruptible<T>(body: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const onSignal = (name: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      process.stderr.write('\nhafif: interrupted again, exiting now\n');
      process.exit(130);
    }
    process.stderr.write(`\nhafif: ${name}, stopping after this step (again to exit at once)\n`);
    controller.abort(new SignalAbort(name));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await body(controller.signal);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** The abort reason of a signal. */
export class SignalAbort extends Error {
  override readonly name = 'AbortError';
  constructor(readonly signalName: string) {
    super(`interrupted by ${signalName}`);
  }
}
