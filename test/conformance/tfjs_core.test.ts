// TensorFlow.js's own tfjs-core suite (~4,200 specs with the tfjs authors' expected values) on
// hafif's build: on `native`, on `native` with every fresh kernel output poisoned with NaN, and on
// `cpu` as the control. Each run is a child process (see run.mjs); its counts are printed here.
// Needs dist/ (`npm test` builds it first).
import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import {nativeAvailable} from '../../src/backend/index.js';
import {buildSuite, runSuite} from './run.mjs';

interface Result {
  config: string;
  code: number | null;
  output: string;
  summary: string | null;
  passed: number;
  failed: number;
  skipped: number;
}

let outfile = '';
let cleanup = () => {};
const results: Record<string, Result> = {};

beforeAll(async () => {
  ({outfile, cleanup} = await buildSuite());
});
afterAll(() => cleanup());

async function run(config: 'native' | 'native-poison' | 'cpu'): Promise<Result> {
  const r = (await runSuite(outfile, config)) as Result;
  results[config] = r;
  const failures = r.output.split('\n').filter((l) => l.startsWith('FAILED ') || l.startsWith('... '));
  console.log([...failures, r.summary ?? `${config}: no summary line, exit ${r.code}\n${r.output.slice(-4000)}`].join('\n'));
  expect(r.summary, 'summary line').not.toBeNull();
  expect(r.failed, `${config}: failed specs`).toBe(0);
  expect(r.code, `${config}: exit code`).toBe(0);
  // The whole suite ran, not an import that registered a handful of specs.
  expect(r.passed, `${config}: passed specs`).toBeGreaterThan(4000);
  return r;
}

const total = (r: Result) => r.passed + r.failed + r.skipped;

describe('tfjs-core conformance suite', () => {
  it('passes on cpu (control)', async () => {
    await run('cpu');
  });

  it.skipIf(!nativeAvailable())('passes on native', async () => {
    const r = await run('native');
    // The same specs as on cpu but for tfjs's 2 'Switching cpu backends' specs, which it declares
    // for a backend named cpu only.
    if (results.cpu) expect(total(r)).toBe(total(results.cpu) - 2);
  });

  it.skipIf(!nativeAvailable())('passes on native with HAFIF_POOL_POISON=1', async () => {
    const r = await run('native-poison');
    if (results.native) expect(total(r)).toBe(total(results.native));
  });
});
