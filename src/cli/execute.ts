// The part of `demo` and `run` after the settings are known: train the phases through the
// experiment library, write results.json and the report, print the table or the JSON.
import {existsSync} from 'node:fs';
import path from 'node:path';
import type * as tfl from '@tensorflow/tfjs-layers';

import type {BackendName} from '../backend/index.js';
import type {Dataset} from '../data/index.js';
import {comparisonTable, expectedGainNote, runExperiment, type ExperimentReport, type ExperimentSettings, type PhaseName} from '../experiment/index.js';
import {modelFiles} from '../io/index.js';
import {writeReport} from '../report/index.js';
import {writeFileAtomic} from '../util/atomic.js';
import {environment} from './environment.js';
import {colourEnabled, type Reporter} from './progress.js';
import {interruptible} from './signals.js';

export interface ExecuteOptions {
  readonly backend: BackendName;
  readonly data: Dataset;
  readonly settings: ExperimentSettings;
  /** The run directory. */
  readonly out: string;
  readonly reporter: Reporter;
  readonly json?: boolean;
  /** Write report.html and charts/*.png. */
  readonly report: boolean;
  readonly cacheTeacherLogits: boolean;
  readonly resume?: boolean;
  readonly checkpointEvery?: number;
  /** How to continue after Ctrl-C, for the message (e.g. `hafif demo --resume DIR`); none: just where the checkpoint is. */
  readonly resumeCommand?: string;
  /** The phases to run (default: the library's). */
  readonly phases?: readonly PhaseName[];
  /** A trained teacher (skips the teacher phase's training). */
  readonly teacher?: tfl.LayersModel;
}

/** A run stopped by a signal: the CLI prints where its checkpoint is and exits with 130. */
export class Interrupted extends Error {
  override readonly name = 'Interrupted';
}

export async function execute(o: ExecuteOptions): Promise<ExperimentReport> {
  const {data, out, reporter} = o;
  const {runs} = await interruptible(async (signal) => {
    try {
      return await runExperiment(data, o.settings, {
        progress: (phase, epochs, steps) => reporter.phase(phase, epochs, steps),
        cacheTeacherLogits: o.cacheTeacherLogits,
        runDir: out,
        resume: o.resume === true,
        checkpointEvery: o.checkpointEvery,
        signal,
        onWarning: (m) => process.stderr.write(`hafif: warning: ${m}\n`),
        phases: o.phases,
        teacher: o.teacher,
      });
    } catch (e) {
      if (signal.aborted) {
        throw new Interrupted(`checkpoint saved in ${path.join(out, 'checkpoints')}` +
          (o.resumeCommand ? `; continue with: ${o.resumeCommand}` : ''));
      }
      throw e;
    }
  });
  // Every phase's model is saved in the run directory: its gzip size is io's measure of the files.
  // (A teacher given from elsewhere is not in it.)
  for (let i = 0; i < runs.length; i++) {
    const dir = path.join(out, runs[i].name);
    if (existsSync(path.join(dir, 'model.json'))) runs[i] = {...runs[i], gzipBytes: (await modelFiles(dir)).gzipBytes};
  }
  const results: ExperimentReport = {
    dataset: data.name,
    trainSize: data.train.count,
    testSize: data.test.count,
    validationSize: data.validation?.count ?? 0,
    backend: o.backend,
    settings: o.settings,
    runs,
    environment: environment(o.backend),
  };
  await writeFileAtomic(path.join(out, 'results.json'), JSON.stringify(results, null, 2) + '\n');
  const report = o.report ? await writeReport(out) : null;
  if (o.json) {
    reporter.event({event: 'results', results, ...(report ? {report: report.html} : {})});
  } else {
    process.stdout.write(comparisonTable(results, {style: colourEnabled(process.stdout) ? 'color' : 'plain'}) + '\n');
    const d = runs.find((r) => r.name === 'distilled');
    const sc = runs.find((r) => r.name === 'scratch');
    const note = expectedGainNote(o.settings, data.name, data.train.count, d && sc ? 100 * (d.testAccuracy - sc.testAccuracy) : null);
    if (note) process.stdout.write(`${note}\n`);
    process.stdout.write(`results: ${path.join(out, 'results.json')}; models: ${runs.map((r) => path.join(out, r.name)).join(', ')}\n`);
    if (report) process.stdout.write(`report: ${report.html}\n`);
  }
  return results;
}
