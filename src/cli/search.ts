// `hafif search`: distillation settings against scratch students, chosen on a validation split.
import {spawn} from 'node:child_process';
import path from 'node:path';
import {Command, Option} from 'commander';

import {useBackend, type BackendName} from '../backend/index.js';
import {datasetNames, type AugmentSpec} from '../data/index.js';
import type {DistillerLossName, TeacherView} from '../distill/index.js';
import {parseAugment, parseSchedule, runSearch, searchReport, searchTable, type SearchConfig} from '../experiment/index.js';
import type {ScheduleSpec} from '../train/index.js';
import {writeFileAtomic} from '../util/atomic.js';
import {UsageError} from '../util/registry.js';
import {oneOf, parseNonNegativeInt, parsePositiveInt} from './options.js';

interface SearchFlags {
  readonly out: string;
  readonly dataset: string;
  readonly dataDir?: string;
  readonly limit?: number;
  readonly validationSplit: string;
  readonly seeds: string;
  readonly student: string;
  readonly teacher: string;
  readonly teacherEpochs: number;
  readonly teacherAugment: string;
  readonly teacherSchedule: string;
  readonly batchSize: number;
  readonly teacherBatchSize?: number;
  readonly loss: string;
  readonly alpha: string;
  readonly temperature: string;
  readonly dkdAlpha: string;
  readonly dkdBeta: string;
  readonly epochs: string;
  readonly augment: string;
  readonly teacherView: string;
  readonly schedule: string;
  readonly learningRate: string;
  readonly weightDecay: string;
  readonly labelSmoothing: string;
  readonly feature: string;
  readonly teachers: string;
  readonly mode: 'grid' | 'random';
  readonly samples?: number;
  readonly searchSeed: number;
  readonly jobs: number;
  readonly shard?: string;
  readonly reportOnly?: boolean;
  readonly backend: BackendName;
  readonly json?: boolean;
}

/** `a,b,c` as a list (an empty item or an empty list is an error naming the axis). */
function list(axis: string, value: string): string[] {
  const items = value.split(',').map((s) => s.trim());
  if (value.trim() === '' || items.some((s) => s === '')) throw new UsageError(`search axis ${axis} is empty or has an empty item: "${value}"`);
  return items;
}

function numbers(axis: string, value: string): number[] {
  return list(axis, value).map((s) => {
    const n = Number(s);
    if (!Number.isFinite(n)) throw new UsageError(`${axis}: expected a number, got "${s}"`);
    return n;
  });
}

function configFrom(f: SearchFlags): SearchConfig {
  const split = Number(f.validationSplit);
  if (f.validationSplit.trim() === '' || !Number.isFinite(split)) throw new UsageError(`validation split: expected a number, got "${f.validationSplit}"`);
  let shard: SearchConfig['shard'];
  if (f.shard != null) {
    const m = /^(\d+)\/(\d+)$/.exec(f.shard);
    if (m == null || Number(m[1]) >= Number(m[2])) throw new UsageError(`shard must be I/N with 0 <= I < N, got "${f.shard}"`);
    shard = {index: Number(m[1]), count: Number(m[2])};
  }
  return {
    dataset: f.dataset,
    dataDir: f.dataDir,
    limit: f.limit,
    validationSplit: split,
    seeds: numbers('seeds', f.seeds),
    student: f.student,
    teacher: {
      model: f.teacher,
      epochs: f.teacherEpochs,
      augment: parseAugment(f.teacherAugment),
      schedule: parseSchedule(f.teacherSchedule),
      learningRate: 1e-3,
      weightDecay: 0,
      labelSmoothing: 0,
    },
    batchSize: f.batchSize,
    ...(f.teacherBatchSize != null ? {teacherBatchSize: f.teacherBatchSize} : {}),
    space: {
      loss: list('loss', f.loss) as DistillerLossName[],
      alpha: numbers('alpha', f.alpha),
      temperature: numbers('temperature', f.temperature),
      dkdAlpha: numbers('dkd-alpha', f.dkdAlpha),
      dkdBeta: numbers('dkd-beta', f.dkdBeta),
      epochs: numbers('epochs', f.epochs),
      augment: list('augment', f.augment).map(parseAugment),
      teacherView: list('teacher-view', f.teacherView) as TeacherView[],
      schedule: list('schedule', f.schedule).map(parseSchedule),
      learningRate: numbers('learning-rate', f.learningRate),
      weightDecay: numbers('weight-decay', f.weightDecay),
      labelSmoothing: numbers('label-smoothing', f.labelSmoothing),
      feature: list('feature', f.feature),
      teachers: numbers('teachers', f.teachers),
    },
    mode: f.mode,
    samples: f.samples,
    searchSeed: f.searchSeed,
    out: path.resolve(f.out),
    shard,
  };
}

export function searchCommand(): Command {
  const cmd = new Command('search')
    .description('search distillation settings against the same student trained from scratch, over several seeds; ' +
      'chosen on a validation split of the training data, test accuracy reported once for the chosen setting')
    .option('--out <dir>', 'shared output directory (runs/, teachers/, students/, search.json); a rerun resumes', './hafif-search')
    .addOption(new Option('--dataset <name>', 'dataset').choices(datasetNames()).default('mnist'))
    .option('--data-dir <dir>', 'read the dataset files from DIR')
    .option('--limit <n>', 'use at most N training examples', parsePositiveInt)
    .option('--validation-split <f>', 'fraction of the training split held out to choose on, in (0, 1)', '0.125')
    .option('--seeds <list>', 'seeds; each gets its own split, teacher, students', '0,1,2')
    .option('--student <model>', 'student model', 'keras-student')
    .option('--teacher <model>', 'teacher model, trained once per seed and cached', 'deep-teacher')
    .option('--teacher-epochs <n>', 'teacher epochs', parsePositiveInt, 12)
    .option('--teacher-augment <spec>', 'teacher augmentation', 'shift2')
    .option('--teacher-schedule <spec>', 'teacher learning-rate schedule', 'one-cycle:3')
    .option('--batch-size <n>', 'examples per step', parsePositiveInt, 32)
    .option('--teacher-batch-size <n>', "teachers' examples per step (default: --batch-size)", parsePositiveInt)
    .option('--loss <list>', 'distillation losses: kl, mse, dkd, lskd', 'kl,dkd')
    .option('--alpha <list>', 'weights of the hard-label loss, in [0, 1]', '0.5,0.9')
    .option('--temperature <list>', 'temperatures (kl, dkd, lskd)', '4')
    .option('--dkd-alpha <list>', "DKD's target-class weights", '1')
    .option('--dkd-beta <list>', "DKD's non-target-class weights", '8')
    .option('--epochs <list>', 'student epochs', '3,10')
    .option('--augment <list>', 'student augmentations: none, shiftN, flip, mixupA, cutmixA joined by +', 'shift2')
    .option('--teacher-view <list>', 'what the teacher sees of an augmented batch: same (forward per step) or clean (cached)', 'same')
    .option('--schedule <list>', 'student schedules: constant, one-cycle[:PEAK[:WARMUP]], cosine[:PEAK[:WARMUP]]', 'one-cycle:3')
    .option('--learning-rate <list>', 'base learning rates', '0.001')
    .option('--weight-decay <list>', 'AdamW decoupled weight decay', '0')
    .option('--label-smoothing <list>', 'label smoothing of the hard-label loss', '0')
    .option('--feature <list>', 'feature losses: none, hint:STUDENT:TEACHER, attention:STUDENT:TEACHER (layer names: hafif info --model NAME)', 'none')
    .option('--teachers <list>', 'teacher ensemble sizes: K teachers per seed (other initial weights and batch order), their logits averaged', '1')
    .addOption(new Option('--mode <mode>', 'grid: every combination; random: --samples of them').argParser(oneOf(['grid', 'random'] as const)).default('grid'))
    .option('--samples <n>', 'settings drawn in random mode', parsePositiveInt)
    .option('--search-seed <n>', 'seed of the random draw', parseNonNegativeInt, 0)
    .option('--jobs <n>', 'independent processes sharing --out', parsePositiveInt, 1)
    .option('--shard <i/n>', 'run only tasks i, i+n, ... (one cluster job each, same command and --out)')
    .option('--report-only', 'print the table of the runs in --out without training')
    .addOption(new Option('--backend <name>', 'TensorFlow.js backend').argParser(oneOf(['native', 'cpu'] as const)).default('native'))
    .option('--json', 'print the report as JSON on stdout');
  return cmd.action(async (flags: SearchFlags) => {
    const config = configFrom(flags);
    // Fails on a bad config before any training or process starts.
    const {checkSearchConfig} = await import('../experiment/search.js');
    checkSearchConfig(config);
    useBackend(flags.backend);
    const log = (m: string) => process.stderr.write(`${m}\n`);
    if (!flags.reportOnly) {
      if (flags.jobs > 1 && flags.shard == null) {
        await runJobs(flags.jobs, log);
      } else {
        await runSearch(config, {
          onMessage: log,
          onRunDone: (r, done, total) => log(`${r.kind} ${r.key}: validation ${(100 * r.valAccuracy).toFixed(2)}%` +
            `${r.testAccuracy != null ? `, test ${(100 * r.testAccuracy).toFixed(2)}%` : ''} (${r.seconds.toFixed(0)} s)${total ? ` [${done}/${total}]` : ''}`),
        });
        if (flags.shard != null) return;
      }
    }
    const report = await searchReport(config);
    await writeFileAtomic(path.join(config.out, 'search.json'), JSON.stringify(report, null, 1) + '\n');
    process.stdout.write(flags.json ? JSON.stringify(report) + '\n' : searchTable(report) + '\n');
  });
}

/** Runs the same command as `jobs` processes, shards 0..jobs-1, and waits for all of them. */
async function runJobs(jobs: number, log: (m: string) => void): Promise<void> {
  const args = process.argv.slice(1).filter((a, i, all) => a !== '--jobs' && all[i - 1] !== '--jobs' && !a.startsWith('--jobs='));
  const codes = await Promise.all(Array.from({length: jobs}, (_, k) => new Promise<number>((resolve) => {
    const child = spawn(process.execPath, [...args, '--shard', `${k}/${jobs}`], {stdio: ['ignore', 'ignore', 'pipe']});
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (s: string) => {
      for (const line of s.split('\n').filter(Boolean)) log(`[job ${k}] ${line}`);
    });
    child.on('close', (code) => resolve(code ?? 1));
  })));
  const bad = codes.findIndex((c) => c !== 0);
  if (bad >= 0) throw new Error(`search job ${bad} exited with code ${codes[bad]}`);
}
