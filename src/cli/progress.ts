// Progress output for training phases: a live bar on a terminal, one line per epoch otherwise,
// one JSON object per line with --json, nothing with --quiet. Progress goes to stderr, except
// --json events, which go to stdout with the final results.
import cliProgress from 'cli-progress';

import type {Callback} from '../train/index.js';

export interface PhaseProgress {
  readonly callbacks: Callback;
  stop(): void;
}

export type ProgressMode = 'bar' | 'lines' | 'json' | 'quiet';

/** A writable end that may be a terminal. */
export interface OutStream {
  write(s: string): unknown;
  readonly isTTY?: boolean;
}

/** Colours only on a terminal, and never when NO_COLOR is set to something (no-color.org). */
export function colourEnabled(stream: OutStream, env: NodeJS.ProcessEnv = process.env): boolean {
  return stream.isTTY === true && !(env.NO_COLOR != null && env.NO_COLOR !== '');
}

const sgr = (code: string) => (s: string) => `\x1b[${code}m${s}\x1b[0m`;
export const ansi = {bold: sgr('1'), cyan: sgr('36'), green: sgr('32'), dim: sgr('2')};

export interface ReporterOptions {
  readonly json?: boolean;
  readonly quiet?: boolean;
  /** Where progress goes. @default process.stderr */
  readonly err?: OutStream;
  /** Where --json events and results go. @default process.stdout */
  readonly out?: OutStream;
  readonly env?: NodeJS.ProcessEnv;
}

/** Chooses the output mode once per command and hands out per-phase progress. */
export class Reporter {
  readonly mode: ProgressMode;
  readonly colour: boolean;
  private readonly err: OutStream;
  private readonly out: OutStream;

  constructor(options: ReporterOptions = {}) {
    this.err = options.err ?? process.stderr;
    this.out = options.out ?? process.stdout;
    this.mode = options.json ? 'json' : options.quiet ? 'quiet' : this.err.isTTY === true ? 'bar' : 'lines';
    this.colour = this.mode === 'bar' && colourEnabled(this.err, options.env);
  }

  /** An informational line (data loading, where files went): stderr, or a JSON event. */
  info(message: string): void {
    if (this.mode === 'json') this.event({event: 'info', message});
    else if (this.mode !== 'quiet') this.err.write(`${message}\n`);
  }

  /** One JSON line on stdout (json mode only). */
  event(obj: Record<string, unknown>): void {
    if (this.mode === 'json') this.out.write(JSON.stringify(obj) + '\n');
  }

  /** Progress of one training phase of `epochs` epochs of `stepsPerEpoch` steps. */
  phase(phase: string, epochs: number, stepsPerEpoch: number): PhaseProgress {
    const mode = this.mode;
    if (mode === 'quiet') return {callbacks: {}, stop() {}};
    const c = this.colour;
    const label = phase.padEnd(9);
    const bar = mode === 'bar'
      ? new cliProgress.SingleBar(
          {
            stream: this.err as NodeJS.WriteStream,
            format: `${c ? ansi.cyan(label) : label} epoch {epoch}/${epochs} step {step}/${stepsPerEpoch} |{bar}| ` +
              'loss {loss} | {ips} img/s | ETA {eta_formatted}',
            barsize: 20,
            hideCursor: true,
            etaBuffer: 50,
            // The bar draws only on a terminal; other streams get the epoch lines below.
            noTTYOutput: false,
          },
          cliProgress.Presets.shades_classic,
        )
      : null;
    let lossSum = 0;
    let seen = 0;
    let epochNow = 0;
    let started = false;
    const t0 = performance.now();
    if (mode === 'json') this.event({event: 'phase', phase, epochs, steps: stepsPerEpoch});
    const callbacks: Callback = {
      onEpochBegin: ({epoch}) => {
        lossSum = 0;
        seen = 0;
        epochNow = epoch;
        if (bar && !started) {
          started = true;
          bar.start(epochs * stepsPerEpoch, epoch * stepsPerEpoch, {epoch: epoch + 1, step: 0, loss: '-', ips: '-'});
        } else {
          bar?.update({epoch: epoch + 1, step: 0});
        }
      },
      onBatchEnd: ({logs, imagesPerSecond}) => {
        lossSum += logs.loss ?? 0;
        seen++;
        bar?.update(epochNow * stepsPerEpoch + seen, {step: seen, loss: (lossSum / seen).toFixed(4), ips: Math.round(imagesPerSecond)});
      },
      onEpochEnd: ({epoch, logs}) => {
        if (mode === 'json') {
          this.event({event: 'epoch', phase, ...logs, epoch: epoch + 1, epochs});
        } else if (mode === 'lines') {
          const parts = [`${phase} epoch ${epoch + 1}/${epochs}`, `loss ${(logs.loss ?? NaN).toFixed(4)}`];
          if (logs.accuracy != null) parts.push(`accuracy ${logs.accuracy.toFixed(4)}`);
          if (logs.valLoss != null) parts.push(`val loss ${logs.valLoss.toFixed(4)}`);
          if (logs.valAccuracy != null) parts.push(`val accuracy ${logs.valAccuracy.toFixed(4)}`);
          if (logs.imagesPerSecond != null) parts.push(`${Math.round(logs.imagesPerSecond)} img/s`);
          this.err.write(parts.join(' | ') + '\n');
        }
      },
    };
    let stopped = false;
    return {
      callbacks,
      stop: () => {
        if (stopped) return;
        stopped = true;
        if (started) bar?.stop();
        if (mode === 'json') this.event({event: 'phase-end', phase, seconds: (performance.now() - t0) / 1000});
      },
    };
  }
}

/** Progress of one phase with a one-off reporter (`quiet` silences it). */
export function phaseProgress(phase: string, epochs: number, stepsPerEpoch: number, quiet = false): PhaseProgress {
  return new Reporter({quiet}).phase(phase, epochs, stepsPerEpoch);
}
