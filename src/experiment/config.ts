// Experiment configs: one YAML or JSON file per experiment, checked by a zod schema (from which
// the TypeScript types come). A config only names registered models, losses and datasets; it
// never executes code, and YAML tags are refused.
import {readFile} from 'node:fs/promises';
import path from 'node:path';
import YAML from 'yaml';
import {z} from 'zod';

import {datasetNames, type DatasetName} from '../data/index.js';
import {distillationLosses, type DistillationLossName} from '../losses/index.js';
import {models} from '../models/index.js';
import {parseOrThrow, showValue} from '../util/issues.js';
import {UsageError} from '../util/registry.js';
import {parseAugment, parseSchedule} from './recipe.js';
import {defaultModels, RECOMMENDED_SETTINGS, type ExperimentSettings} from './settings.js';

const registered = (kind: string, names: () => readonly string[]) =>
  z.string().superRefine((v, ctx) => {
    if (!names().includes(v)) ctx.addIssue({code: 'custom', message: `unknown ${kind}; expected one of ${names().join(', ')}`, input: v});
  });
const positiveInt = z.number().int({error: 'must be a positive integer'}).min(1, {error: 'must be a positive integer'});
const positive = z.number().gt(0, {error: 'must be > 0'});

const datasetSection = z.strictObject({
  /** A registered dataset: mnist, fashion-mnist, cifar10. */
  name: registered('dataset', datasetNames),
  /** Read the dataset's files from this directory (relative to the config file's directory). */
  dataDir: z.string().optional(),
  /** At most this many training examples, class-balanced. */
  limit: positiveInt.optional(),
  /** At most this many test examples, class-balanced. */
  testLimit: positiveInt.optional(),
  /** Fraction of the training examples held out for per-epoch validation, in [0, 1). */
  validationSplit: z.number().min(0, {error: 'must be in [0, 1)'}).lt(1, {error: 'must be in [0, 1)'}).default(0),
});

/** A spec string that `parse` accepts (`shift2`, `one-cycle:3`); its error is the issue's message. */
const spec = (parse: (v: string) => unknown) =>
  z.string().superRefine((v, ctx) => {
    try {
      parse(v);
    } catch (e) {
      ctx.addIssue({code: 'custom', message: (e as Error).message, input: v});
    }
  });

const modelFields = {
  /** A registered model. */
  model: registered('model', () => models.names()).optional(),
  epochs: positiveInt.optional(),
  /** Learning-rate schedule: constant, one-cycle[:PEAK[:WARMUP]], cosine[:PEAK[:WARMUP]]. */
  schedule: spec(parseSchedule).optional(),
};
const modelSection = z.strictObject(modelFields);
const teacherSection = z.strictObject({
  ...modelFields,
  /** Teachers trained and averaged into an ensemble. */
  count: positiveInt.optional(),
  /** Batch augmentation: none, shiftN, flip, mixupA, cutmixA joined by +. */
  augment: spec(parseAugment).optional(),
});

/** The schema of a config file. */
export const configSchema = z.strictObject({
  /** Names the run; the default output directory is hafif-out/NAME. */
  name: z.string().regex(/^[\w.-]+$/, {error: 'must be letters, digits, ".", "_" or "-"'}).optional(),
  seed: z.number().int({error: 'must be a non-negative integer'}).min(0, {error: 'must be a non-negative integer'}).default(0),
  backend: z.enum(['native', 'cpu']).default('native'),
  dataset: datasetSection,
  teacher: teacherSection.default({}),
  student: modelSection.default({}),
  distill: z.strictObject({
    /** Weight of the hard-label loss. */
    alpha: z.number().min(0, {error: 'must be in [0, 1]'}).max(1, {error: 'must be in [0, 1]'}).default(RECOMMENDED_SETTINGS.alpha),
    temperature: positive.default(RECOMMENDED_SETTINGS.temperature),
    /** A registered distillation loss: kl or mse. */
    loss: registered('distillation loss', () => distillationLosses.names()).default(RECOMMENDED_SETTINGS.distillationLoss),
    /** Reuse the teacher's logits across epochs (same result, faster). */
    cacheTeacherLogits: z.boolean().default(true),
  }).default({alpha: RECOMMENDED_SETTINGS.alpha, temperature: RECOMMENDED_SETTINGS.temperature,
    loss: RECOMMENDED_SETTINGS.distillationLoss, cacheTeacherLogits: true}),
  train: z.strictObject({
    batchSize: positiveInt.default(RECOMMENDED_SETTINGS.batchSize),
    learningRate: positive.default(RECOMMENDED_SETTINGS.learningRate),
  }).default({batchSize: RECOMMENDED_SETTINGS.batchSize, learningRate: RECOMMENDED_SETTINGS.learningRate}),
  /** Write report.html and charts at the end. */
  report: z.boolean().default(true),
});

/** A config as written (defaults may be missing). */
export type ExperimentConfigInput = z.input<typeof configSchema>;

/** A config with every default filled in, models resolved: what a run records and repeats. */
export interface ExperimentConfig extends z.output<typeof configSchema> {
  readonly teacher: {model: string; epochs: number; count: number; augment: string; schedule: string};
  readonly student: {model: string; epochs: number; schedule: string};
}

/** Checks a parsed config and fills in defaults; errors name the field: `distill.alpha: must be in [0, 1], got 2`. */
export function resolveConfig(raw: unknown, what = 'config'): ExperimentConfig {
  const c = parseOrThrow(configSchema, raw, what);
  const m = defaultModels(c.dataset.name);
  return {
    ...c,
    teacher: {
      model: c.teacher.model ?? m.teacher,
      epochs: c.teacher.epochs ?? RECOMMENDED_SETTINGS.epochsTeacher,
      count: c.teacher.count ?? RECOMMENDED_SETTINGS.teachers,
      augment: c.teacher.augment ?? RECOMMENDED_SETTINGS.teacherAugment,
      schedule: c.teacher.schedule ?? RECOMMENDED_SETTINGS.teacherSchedule,
    },
    student: {
      model: c.student.model ?? m.student,
      epochs: c.student.epochs ?? RECOMMENDED_SETTINGS.epochsStudent,
      schedule: c.student.schedule ?? RECOMMENDED_SETTINGS.studentSchedule,
    },
  };
}

/** The experiment library's settings for a resolved config. */
export function configSettings(c: ExperimentConfig): ExperimentSettings {
  return {
    teacher: c.teacher.model,
    student: c.student.model,
    epochsTeacher: c.teacher.epochs,
    epochsStudent: c.student.epochs,
    teachers: c.teacher.count,
    teacherAugment: c.teacher.augment,
    teacherSchedule: c.teacher.schedule,
    studentSchedule: c.student.schedule,
    batchSize: c.train.batchSize,
    learningRate: c.train.learningRate,
    alpha: c.distill.alpha,
    temperature: c.distill.temperature,
    distillationLoss: c.distill.loss as DistillationLossName,
    seed: c.seed,
  };
}

export function configDataset(c: ExperimentConfig): DatasetName {
  return c.dataset.name as DatasetName;
}

/**
 * Parses config text: JSON for a `.json` file, else YAML (plain data only: any tag such as
 * `!import_call` or `!!python/object` is refused, as are duplicate keys).
 */
export function parseConfigText(text: string, file: string): unknown {
  if (file.endsWith('.json')) {
    try {
      return JSON.parse(text);
    } catch (e) {
      throw new UsageError(`${file}: not JSON (${(e as Error).message})`);
    }
  }
  const doc = YAML.parseDocument(text, {uniqueKeys: true, prettyErrors: true});
  const err = doc.errors[0];
  if (err) {
    const where = err.linePos ? `:${err.linePos[0].line}` : '';
    throw new UsageError(`${file}${where}: not YAML: ${err.message.split('\n')[0]}`);
  }
  let tagged: {tag: string; line?: number} | null = null;
  YAML.visit(doc, {
    Node(_key, node) {
      if (node.tag && tagged == null) {
        const line = node.range ? lineOf(text, node.range[0]) : undefined;
        tagged = {tag: node.tag.replace(/^tag:yaml\.org,2002:/, '!!'), line};
        return YAML.visit.BREAK;
      }
      return undefined;
    },
  });
  if (tagged != null) {
    const t = tagged as {tag: string; line?: number};
    throw new UsageError(`${file}${t.line ? `:${t.line}` : ''}: YAML tag ${t.tag} is not allowed (a config is plain data and never runs code)`);
  }
  return doc.toJS({maxAliasCount: 50});
}

function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

/**
 * Applies `a.b=value` overrides to a parsed config; the value is read as a YAML scalar
 * (`0.5`, `true`, `mse`). The schema then checks the result, so a misspelt key is an unknown key.
 */
export function applyOverrides(raw: unknown, sets: readonly string[]): unknown {
  const root = (raw != null && typeof raw === 'object' && !Array.isArray(raw) ? structuredClone(raw) : {}) as Record<string, unknown>;
  for (const s of sets) {
    const eq = s.indexOf('=');
    if (eq <= 0) throw new UsageError(`--set ${JSON.stringify(s)}: expected FIELD=VALUE, e.g. distill.alpha=0.5`);
    const keys = s.slice(0, eq).split('.');
    if (keys.some((k) => !/^\w+$/.test(k))) throw new UsageError(`--set ${JSON.stringify(s)}: bad field path ${JSON.stringify(s.slice(0, eq))}`);
    const value = parseConfigText(s.slice(eq + 1), `--set ${s.slice(0, eq)}`);
    if (value != null && typeof value === 'object') throw new UsageError(`--set ${s.slice(0, eq)}: expected a single value, got ${showValue(value)}`);
    let node = root;
    for (let i = 0; i < keys.length - 1; i++) {
      const next = node[keys[i]];
      if (next == null) node[keys[i]] = {};
      else if (typeof next !== 'object' || Array.isArray(next)) {
        throw new UsageError(`--set ${s.slice(0, eq)}: ${keys.slice(0, i + 1).join('.')} is ${showValue(next)}, not a section`);
      }
      node = node[keys[i]] as Record<string, unknown>;
    }
    node[keys[keys.length - 1]] = value;
  }
  return root;
}

/**
 * Reads, overrides and checks a config file. A `dataset.dataDir` written in the file is relative
 * to the file's directory; one given with `--set` is relative to the working directory.
 */
export async function loadConfig(file: string, sets: readonly string[] = []): Promise<ExperimentConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EISDIR') throw new UsageError(`${file}: no such config file`);
    throw e;
  }
  const raw = parseConfigText(text, file) as {dataset?: {dataDir?: unknown}} | null;
  if (typeof raw?.dataset?.dataDir === 'string') raw.dataset.dataDir = path.resolve(path.dirname(file), raw.dataset.dataDir);
  const c = resolveConfig(applyOverrides(raw, sets), file);
  if (c.dataset.dataDir != null) return {...c, dataset: {...c.dataset, dataDir: path.resolve(c.dataset.dataDir)}};
  return c;
}

/** The resolved config as YAML, as written next to a run's results. */
export function configYaml(c: ExperimentConfig): string {
  return '# hafif run config, every default filled in; `hafif run THIS_FILE` repeats the run.\n' + YAML.stringify(c);
}
