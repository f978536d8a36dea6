// Progress output for training phases: a live bar on a terminal, one line per epoch otherwise.
import cliProgress from 'cli-progress';

import type {Callback} from '../train/index.js';

export interface PhaseProgress {
  readonly callbacks: Callback;
  stop(): void;
}

/**
 * Callbacks that show `phase`: epoch, step, loss, images/s and ETA. Writes to stderr, so that
 * `--json` output on stdout stays clean; silent when `quiet`.
 */
export function phaseProgress(phase: string, epochs: number, stepsPerEpoch: number, quiet = false): PhaseProgress {
  if (quiet) return {callbacks: {}, stop() {}};
  const tty = process.stderr.isTTY === true;
  const bar = tty
    ? new cliProgress.SingleBar(
        {
          stream: process.stderr,
          format: `${phase.padEnd(9)} epoch {epoch}/${epochs} |{bar}| {value}/{total} steps | loss {loss} | {ips} img/s | ETA {eta_formatted}`,
          barsize: 24,
          hideCursor: true,
          etaBuffer: 50,
        },
        cliProgress.Presets.shades_classic,
      )
    : null;
  let lossSum = 0;
  let seen = 0;
  const callbacks: Callback = {
    onEpochBegin({epoch}) {
      lossSum = 0;
      seen = 0;
      bar?.start(stepsPerEpoch, 0, {epoch: epoch + 1, loss: '-', ips: '-'});
    },
    onBatchEnd({logs, imagesPerSecond}) {
      lossSum += logs.loss ?? 0;
      seen++;
      bar?.increment(1, {loss: (lossSum / seen).toFixed(4), ips: Math.round(imagesPerSecond)});
    },
    onEpochEnd({epoch, logs}) {
      bar?.stop();
      if (!tty) {
        const parts = [`${phase} epoch ${epoch + 1}/${epochs}`, `loss ${(logs.loss ?? NaN).toFixed(4)}`];
        if (logs.accuracy != null) parts.push(`accuracy ${logs.accuracy.toFixed(4)}`);
        if (logs.valAccuracy != null) parts.push(`val accuracy ${logs.valAccuracy.toFixed(4)}`);
        if (logs.imagesPerSecond != null) parts.push(`${Math.round(logs.imagesPerSecond)} img/s`);
        process.stderr.write(parts.join(' | ') + '\n');
      }
    },
  };
  return {callbacks, stop: () => bar?.stop()};
}
