// A/B of the Winograd convolutions (native/winograd.cc) against the im2col paths they replace, in
// one process, switching addon.convWinograd() between alternating rounds and keeping the best
// round of each side (the machine is shared, so single timings mean little):
//   node bench/dist/conv_ab.js [rounds]            per kernel at the teachers' 3x3 stride-1 shapes
//   node bench/dist/conv_ab.js [rounds] --e2e      whole training (hafif fit) and inference steps
// With --four the A/B is F(2x2, 3x3) -> F(4x4, 3x3) tiles (addon.convWinograd4(), Winograd on both sides).
import {addon} from '../../dist/backend/addon.js';
import {setBackend} from './env.js';
import {now} from './timing.js';
import {INFER_BATCH, makeSession, TRAIN_BATCH, type ModelName} from './train.js';

/** [where, spatial size, inC, outC] of the registry teachers' 3x3 stride-1 'same' convs, batch 32. */
const SHAPES: [string, number, number, number][] = [
  ['deep-teacher conv2', 28, 32, 32], ['deep-teacher conv3', 14, 32, 64], ['deep-teacher conv4', 14, 64, 64],
  ['deep-teacher conv5', 7, 64, 128], ['cifar-teacher conv1', 32, 3, 32], ['cifar-teacher conv2', 32, 32, 32],
  ['cifar-teacher conv3', 16, 32, 64], ['cifar-teacher conv4', 16, 64, 64], ['cifar-teacher conv5', 8, 64, 128],
  ['cifar-teacher conv6', 8, 128, 128], ['cifar-student conv2', 16, 16, 32],
];

const four = process.argv.includes('--four');
const toggle = (on: boolean) => (four ? addon!.convWinograd4(on) : addon!.convWinograd(on));

/** Best ms per call of `fn` with the switch off and on, `rounds` alternating rounds of `reps` calls. */
function ab(fn: () => void, rounds: number, reps: number): {off: number; on: number} {
  const best = {off: Infinity, on: Infinity};
  for (let r = 0; r < rounds; ++r) {
    for (const on of [false, true]) {
      toggle(on);
      fn();
      const t0 = now();
      for (let i = 0; i < reps; ++i) fn();
      const ms = (now() - t0) / reps;
      if (on) best.on = Math.min(best.on, ms);
      else best.off = Math.min(best.off, ms);
    }
  }
  toggle(true);
  return best;
}

const fmt = (t: {off: number; on: number}) => `${t.off.toFixed(2)} -> ${t.on.toFixed(2)} ms (x${(t.off / t.on).toFixed(2)})`;

function kernels(rounds: number): void {
  const rnd = (n: number) => Float32Array.from({length: n}, () => Math.random() * 2 - 1);
  for (const [where, h, c, n] of SHAPES) {
    const b = 32, geom = [b, h, h, c, h, h, n, 3, 3, 1, 1, 1, 1, 1, 1];
    const x = rnd(b * h * h * c), f = rnd(9 * c * n), dy = rnd(b * h * h * n);
    const y = new Float32Array(dy.length), dx = new Float32Array(x.length), dw = new Float32Array(f.length);
    const fwd = ab(() => addon!.conv2d(x, f, null, y, geom), rounds, 2);
    const bdx = ab(() => addon!.conv2dBackpropInput(dy, f, dx, geom), rounds, 2);
    const bdw = ab(() => addon!.conv2dBackpropFilter(x, dy, dw, geom), rounds, 2);
    console.log(`${where.padEnd(20)} x[${b},${h},${h},${c}] f[3,3,${c},${n}]  fwd ${fmt(fwd)}  dx ${fmt(bdx)}  dw ${fmt(bdw)}`);
  }
}

function e2e(rounds: number): void {
  setBackend('native');
  for (const name of ['deep-teacher', 'cifar-teacher', 'cifar-student', 'keras-teacher'] as ModelName[]) {
    const s = makeSession(name, 'hafif');
    for (let i = 0; i < 2; ++i) {
      s.trainStep();
      s.inferStep();
    }
    const train = ab(() => s.trainStep(), rounds, 3), infer = ab(() => s.inferStep(), rounds, 2);
    const ips = (ms: number, batch: number) => ((batch * 1000) / ms).toFixed(0);
    console.log(`${name.padEnd(14)} train (hafif fit, batch ${TRAIN_BATCH}) ${fmt(train)} = ${ips(train.off, TRAIN_BATCH)} -> ` +
      `${ips(train.on, TRAIN_BATCH)} img/s;  infer (batch ${INFER_BATCH}) ${fmt(infer)} = ${ips(infer.off, INFER_BATCH)} -> ` +
      `${ips(infer.on, INFER_BATCH)} img/s`);
    s.dispose();
  }
}

if (addon == null) throw new Error('native addon unavailable');
addon.numThreads(Number(process.env.HAFIF_THREADS ?? 2));
const rounds = Number(process.argv.find((a) => /^\d+$/.test(a)) ?? 5);
if (process.argv.includes('--e2e')) e2e(rounds);
else kernels(rounds);
