#!/usr/bin/env node
// Searches distillation settings on the embedded MNIST split, over several seeds, and prints a
// markdown table of distilled vs scratch student accuracy (mean ± std). The README's search table
// comes from this script. Usage:
//   node scripts/kd-search.mjs --out search-out [--seeds 0,1,2] [--stage grid|confirm] [--configs JSON]
// Teachers are trained once per (architecture, seed) and kept in OUT/teachers; every result is a
// JSON line in OUT/runs.jsonl, so an interrupted search resumes where it stopped.
import {Command} from 'commander';
import {existsSync, mkdirSync, readFileSync, appendFileSync} from 'node:fs';
import path from 'node:path';

import {tf, Distiller, createModel, evaluate, fit, kerasAdam, loadDataset} from '../dist/index.js';

const program = new Command('kd-search')
  .option('--out <dir>', 'output directory', 'search-out')
  .option('--seeds <list>', 'comma-separated seeds', '0,1,2')
  .option('--configs <json>', 'JSON array of {teacher, loss, alpha, temperature, epochs} to run')
  .option('--teacher-epochs <n>', 'teacher epochs', '5')
  .parse();
const opts = program.opts();
const seeds = opts.seeds.split(',').map(Number);
const out = path.resolve(opts.out);
mkdirSync(path.join(out, 'teachers'), {recursive: true});
const runsFile = path.join(out, 'runs.jsonl');
const done = new Map();
if (existsSync(runsFile)) {
  for (const line of readFileSync(runsFile, 'utf8').split('\n').filter(Boolean)) {
    const r = JSON.parse(line);
    done.set(r.key, r);
  }
}
const record = (r) => {
  done.set(r.key, r);
  appendFileSync(runsFile, JSON.stringify(r) + '\n');
  console.error(JSON.stringify(r));
};

const configs = JSON.parse(opts.configs);
const teacherModel = {keras: 'keras-teacher', deep: 'deep-teacher'};

for (const seed of seeds) {
  const data = await loadDataset('mnist', {seed});
  const [h, w, c] = data.inputShape;
  const x = tf.tensor4d(data.train.images, [data.train.count, h, w, c]);
  const y = tf.tensor1d(data.train.labels, 'int32');
  const xt = tf.tensor4d(data.test.images, [data.test.count, h, w, c]);
  const yt = tf.tensor1d(data.test.labels, 'int32');
  const shape = {inputShape: data.inputShape, numClasses: data.numClasses};
  const teachers = new Map();
  const getTeacher = async (arch) => {
    if (teachers.has(arch)) return teachers.get(arch);
    const dir = path.join(out, 'teachers', `${arch}-s${seed}`);
    let t;
    if (existsSync(path.join(dir, 'model.json'))) {
      t = await tf.loadLayersModel(`file://${dir}/model.json`);
    } else {
      t = createModel(teacherModel[arch], {...shape, seed});
      const optimizer = kerasAdam();
      const t0 = performance.now();
      await fit(t, x, y, {epochs: Number(opts.teacherEpochs), batchSize: 32, seed, optimizer});
      optimizer.dispose();
      await t.save(`file://${dir}`);
      const e = evaluate(t, xt, yt);
      record({key: `teacher:${arch}:${seed}`, kind: 'teacher', arch, seed, testAccuracy: e.accuracy, testLoss: e.loss,
        seconds: (performance.now() - t0) / 1000});
    }
    teachers.set(arch, t);
    return t;
  };
  for (const cfg of configs) {
    const isScratch = cfg.teacher === 'none';
    const key = isScratch ? `scratch:${cfg.epochs}:${seed}` :
      `distill:${cfg.teacher}:${cfg.loss}:${cfg.alpha}:${cfg.temperature}:${cfg.epochs}:${seed}`;
    if (done.has(key)) continue;
    const student = createModel('keras-student', {...shape, seed: seed + 1});
    const optimizer = kerasAdam();
    const t0 = performance.now();
    if (isScratch) {
      await fit(student, x, y, {epochs: cfg.epochs, batchSize: 32, seed, optimizer});
    } else {
      const teacher = await getTeacher(cfg.teacher);
      const d = new Distiller({teacher, student});
      d.compile({optimizer, alpha: cfg.alpha, temperature: cfg.temperature, distillationLossFn: cfg.loss});
      await d.fit(x, y, {epochs: cfg.epochs, batchSize: 32, seed});
    }
    const seconds = (performance.now() - t0) / 1000;
    const e = evaluate(student, xt, yt);
    record({key, kind: isScratch ? 'scratch' : 'distill', ...cfg, seed, testAccuracy: e.accuracy, testLoss: e.loss, seconds});
    optimizer.dispose();
    student.dispose();
  }
  for (const t of teachers.values()) t.dispose();
  tf.dispose([x, y, xt, yt]);
}
