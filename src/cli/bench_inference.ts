// `hafif bench-inference`: latency and images/s of saved models at batch 1 and 32 on tfjs-native,
// tfjs-cpu, ORT float and ORT int8, side by side in one run, with equal stated threads.
import {Command, Option} from 'commander';
import type * as tfl from '@tensorflow/tfjs-layers';
import Table from 'cli-table3';
import {mkdir, mkdtemp, readdir, readFile, rm} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {gzipSync} from 'node:zlib';

import {addon, nativeAvailable} from '../backend/index.js';
import {
  benchInference, exportOnnx, exportOnnxInt8, OnnxModel, ortEngine, runInBrowser, tfjsEngine, type InferenceBenchRow, type InferenceEngine,
  type Int8Format, type Int8Scheme,
} from '../export/index.js';
import {formatBytes} from '../models/index.js';
import {UsageError} from '../util/registry.js';
import {addDataFlags, prepare, type DataFlags} from './common.js';
import {calibrationFor, DEFAULT_INT8_FORMAT, DEFAULT_INT8_SCHEME} from './onnx.js';
import {parsePositive, parsePositiveInt} from './options.js';
import {loadModel} from './train.js';

interface BenchFlags extends DataFlags {
  readonly model: string[];
  readonly threads: number;
  readonly batchSizes: number[];
  readonly rounds: number;
  readonly seconds: number;
  readonly int8Variants: 'default' | 'all';
  readonly engines?: string[];
  readonly profile?: string;
  readonly browser?: boolean;
}

const ALL_VARIANTS: readonly [Int8Format, Int8Scheme][] = [
  ['qdq', 's8s8'], ['qdq', 'u8s8-reduce-range'], ['qoperator', 's8s8'], ['qoperator', 'u8s8-reduce-range'],
];

function parseList(value: string): number[] {
  return value.split(',').map((v) => parsePositiveInt(v.trim()));
}

interface ArtifactInfo {
  readonly engine: string;
  readonly bytes: number;
  readonly gzipBytes: number;
}

/** Sums an ORT profile's kernel times by op type, largest first. */
async function profileSummary(file: string): Promise<{op: string; ms: number; share: number}[]> {
  const events = JSON.parse(await readFile(file, 'utf8')) as {cat?: string; name?: string; dur?: number; args?: {op_name?: string}}[];
  const byOp = new Map<string, number>();
  let total = 0;
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name?.endsWith('_kernel_time') || !e.args?.op_name) continue;
    byOp.set(e.args.op_name, (byOp.get(e.args.op_name) ?? 0) + (e.dur ?? 0));
    total += e.dur ?? 0;
  }
  return [...byOp].sort((a, b) => b[1] - a[1]).map(([op, us]) => ({op, ms: us / 1000, share: us / Math.max(total, 1)}));
}

export function benchInferenceCommand(): Command {
  const cmd = new Command('bench-inference')
    .description('inference latency and images/s at batch 1 and 32: tfjs-native, tfjs-cpu, ORT float, ORT int8, side by side')
    .requiredOption('--model <dirs...>', 'saved tfjs model directories (each is exported to ONNX float and int8 on the spot)')
    .option('--threads <n>', 'threads of the native backend and of onnxruntime (tfjs-cpu always uses 1)', parsePositiveInt, 1)
    .option('--batch-sizes <list>', 'comma-separated batch sizes', parseList, [1, 32])
    .option('--rounds <n>', 'interleaved rounds (the median is reported)', parsePositiveInt, 3)
    .option('--seconds <s>', 'seconds per engine, batch size and round', parsePositive, 0.5)
    .addOption(new Option('--int8-variants <which>', `default (${DEFAULT_INT8_FORMAT} ${DEFAULT_INT8_SCHEME}) or all four formats × schemes`)
      .choices(['default', 'all']).default('default'))
    .option('--engines <names...>', 'only these engines (tfjs-native, tfjs-cpu, ort-float, ort-int8)')
    .option('--profile <dir>', 'also write ORT profiles of float and int8 at the largest batch size into DIR and summarize them')
    .option('--browser', 'also time tfjs (cpu, wasm) and onnxruntime-web (float, int8) in headless Chromium, 1 thread')
    .option('--calibration <file>', 'quantization.json for the int8 models (default: beside each model, else min/max on the training data)')
    .option('--calibration-examples <n>', 'training examples for an on-the-spot min/max calibration', parsePositiveInt, 512);
  addDataFlags(cmd);
  return cmd.action(async (flags: BenchFlags & {calibration?: string; calibrationExamples: number}) => {
    const want = (e: string) => !flags.engines || flags.engines.some((w) => e === w || e.startsWith(`${w} `));
    const {data} = await prepare({...flags, backend: nativeAvailable() ? 'native' : 'cpu'});
    if (nativeAvailable()) addon?.numThreads(flags.threads);
    const count = Math.min(data.test.count, Math.max(256, ...flags.batchSizes));
    const [h, w, c] = data.inputShape;
    const x = data.test.images.subarray(0, count * h * w * c);
    const tmp = await mkdtemp(path.join(tmpdir(), 'hafif-bench-'));
    const report: {model: string; artifacts: ArtifactInfo[]; rows: InferenceBenchRow[]; profiles?: Record<string, unknown>}[] = [];
    try {
      for (const dir of flags.model) {
        const model = await loadModel(dir);
        const sessions: OnnxModel[] = [];
        let cpuCopy: tfl.LayersModel | undefined;
        try {
          const got = model.inputs[0].shape.slice(1);
          if (got.join() !== data.inputShape.join()) {
            throw new UsageError(`model ${dir} expects inputs of shape [${got}], but the dataset's images are [${data.inputShape}]`);
          }
          const engines: InferenceEngine[] = [];
          const artifacts: ArtifactInfo[] = [];
          const weights = await readFile(path.join(dir, 'weights.bin')).catch(() => null);
          if (weights) artifacts.push({engine: 'tfjs (weights.bin)', bytes: weights.length, gzipBytes: gzipSync(weights).length});
          if (nativeAvailable() && want('tfjs-native')) engines.push(tfjsEngine('tfjs-native', model, 'native'));
          // Its own copy: tfjs moves a tensor's data to whichever backend reads it, so one model
          // shared by two backends would be copied back and forth on every call.
          if (want('tfjs-cpu')) {
            cpuCopy = await loadModel(dir);
            engines.push(tfjsEngine('tfjs-cpu', cpuCopy, 'cpu'));
          }
          const base = path.join(tmp, path.basename(path.resolve(dir)));
          const onnxFiles: [string, string][] = [];
          if (want('ort-float')) {
            const bytes = await exportOnnx(model, `${base}.onnx`);
            onnxFiles.push(['ort-float', `${base}.onnx`]);
            artifacts.push({engine: 'ort-float', bytes: bytes.length, gzipBytes: gzipSync(bytes).length});
          }
          if (want('ort-int8')) {
            const {q} = await calibrationFor(model, {...flags, model: dir});
            const variants = flags.int8Variants === 'all' ? ALL_VARIANTS : [[DEFAULT_INT8_FORMAT, DEFAULT_INT8_SCHEME] as const];
            for (const [format, scheme] of variants) {
              const name = flags.int8Variants === 'all' ? `ort-int8 ${format} ${scheme}` : 'ort-int8';
              const file = `${base}-${format}-${scheme}.onnx`;
              const bytes = await exportOnnxInt8(model, file, {calibration: q, format, scheme});
              onnxFiles.push([name, file]);
              artifacts.push({engine: name, bytes: bytes.length, gzipBytes: gzipSync(bytes).length});
            }
          }
          for (const [name, file] of onnxFiles) {
            const s = await OnnxModel.load(file, {threads: flags.threads});
            sessions.push(s);
            engines.push(ortEngine(name, s));
          }
          const rows = await benchInference(engines, x, count, {batchSizes: flags.batchSizes, rounds: flags.rounds, seconds: flags.seconds});
          if (flags.browser) {
            const inBrowser = [{name: 'tfjs', path: dir}, ...onnxFiles.map(([name, file]) => ({name, path: file}))];
            const nb = Math.max(...flags.batchSizes);
            const results = await runInBrowser(inBrowser, {x: x.subarray(0, nb * h * w * c), count: nb, inputShape: data.inputShape,
              batchSizes: flags.batchSizes, seconds: flags.seconds * flags.rounds});
            for (const r of results) {
              const engine = r.engine === 'ort-web-wasm' ? `browser ${r.model.replace(/^ort-/, 'ort-web ')}` : `browser ${r.engine}`;
              for (const b of flags.batchSizes) {
                rows.push({engine, batchSize: b, msPerImage: 1000 / r.imagesPerSecond[b], imagesPerSecond: r.imagesPerSecond[b], images: 0});
              }
            }
          }
          const entry: (typeof report)[number] = {model: path.resolve(dir), artifacts, rows};
          if (flags.profile) {
            entry.profiles = {};
            const profileDir = path.resolve(flags.profile);
            await mkdir(profileDir, {recursive: true});
            const b = Math.max(...flags.batchSizes);
            for (const [name, file] of onnxFiles) {
              const stem = `${path.basename(path.resolve(dir))}-${name.replace(/\s+/g, '-')}-b${b}`;
              const s = await OnnxModel.load(file, {threads: flags.threads, profilePrefix: path.join(profileDir, stem)});
              for (let i = 0; i < 20; i++) await s.run(x.subarray(0, b * h * w * c), b);
              s.session.endProfiling();
              await s.dispose();
              // ORT names the file PREFIX_<timestamp>.json.
              const found = (await readdir(profileDir)).filter((f) => f.startsWith(`${stem}_`) && f.endsWith('.json')).sort();
              const profileFile = found.length ? path.join(profileDir, found[found.length - 1]) : undefined;
              entry.profiles[name] = profileFile ? {file: profileFile, ops: await profileSummary(profileFile)} : {file: null};
            }
          }
          report.push(entry);
        } finally {
          for (const s of sessions) await s.dispose();
          model.dispose();
          cpuCopy?.dispose();
        }
      }
    } finally {
      await rm(tmp, {recursive: true, force: true});
    }
    const header = {threads: flags.threads, tfjsCpuThreads: 1, dataset: data.name, batchSizes: flags.batchSizes, rounds: flags.rounds,
      secondsPerRound: flags.seconds, cpus: (await import('node:os')).cpus().length, loadAverage: (await import('node:os')).loadavg()};
    if (flags.json) {
      process.stdout.write(JSON.stringify({...header, models: report}) + '\n');
      return;
    }
    process.stdout.write(`threads: ${flags.threads} (native backend and onnxruntime; tfjs-cpu is single-threaded), ` +
      `median of ${flags.rounds} interleaved rounds of ${flags.seconds} s; load average ${header.loadAverage.map((l) => l.toFixed(1)).join(' ')} on ${header.cpus} cpus\n`);
    for (const m of report) {
      const t = new Table({
        head: ['engine', 'bytes', 'gzipped', ...flags.batchSizes.flatMap((b) => [`b${b} ms/img`, `b${b} img/s`])],
        colAligns: ['left', 'right', 'right', ...flags.batchSizes.flatMap(() => ['right', 'right'] as const)],
      });
      const engines = [...new Set(m.rows.map((r) => r.engine))];
      for (const e of engines) {
        const key = e.replace(/^browser ort-web /, 'ort-');
        const a = m.artifacts.find((x) => x.engine === key) ?? (/tfjs/.test(e) ? m.artifacts.find((x) => x.engine.startsWith('tfjs')) : undefined);
        t.push([e, a ? formatBytes(a.bytes) : '', a ? formatBytes(a.gzipBytes) : '', ...flags.batchSizes.flatMap((b) => {
          const r = m.rows.find((x) => x.engine === e && x.batchSize === b);
          return r ? [r.msPerImage.toFixed(3), Math.round(r.imagesPerSecond).toLocaleString('en-US')] : ['', ''];
        })]);
      }
      process.stdout.write(`${m.model}\n${t.toString()}\n`);
      for (const [name, p] of Object.entries(m.profiles ?? {})) {
        const ops = (p as {ops?: {op: string; ms: number; share: number}[]}).ops ?? [];
        process.stdout.write(`  ORT profile ${name}: ${ops.slice(0, 6).map((o) => `${o.op} ${(o.share * 100).toFixed(0)}%`).join(', ')}\n`);
      }
    }
  });
}
