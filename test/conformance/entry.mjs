// The bundle's entry: jasmine, then hafif, then tfjs-core's specs (import order is run order),
// then one run with a reporter that prints the counts as the last line.
import './setup_jasmine.mjs';
import './test_env.mjs';
import '@tensorflow/tfjs-core/dist/tests.js';

import {setupTestFilters} from '@tensorflow/tfjs-core/dist/jasmine_util.js';
import * as tf from '@tensorflow/tfjs-core';

import {SKIPS} from './skips.mjs';

const backendName = process.env.HAFIF_CONFORMANCE_BACKEND ?? 'native';
const skipHits = SKIPS.map(() => 0);
setupTestFilters([], (name) => {
  const i = SKIPS.findIndex((s) => name.includes(s.match));
  if (i < 0) return true;
  skipHits[i]++;
  return false;
});

const counts = {passed: 0, failed: 0, skipped: 0};
const failures = [];
const skipped = [];
const env = jasmine.getEnv();
env.addReporter({
  specDone(r) {
    if (r.status === 'passed') counts.passed++;
    else if (r.status === 'failed') {
      counts.failed++;
      failures.push(`${r.fullName}: ${r.failedExpectations.map((e) => e.message).join('; ')}`);
    } else {
      counts.skipped++;
      skipped.push(`${r.fullName} (${r.pendingReason || 'excluded by the skip list'})`);
    }
  },
  suiteDone(r) {
    // An error in beforeAll/afterAll fails the suite, not a spec: count it too.
    if (r.failedExpectations.length > 0) {
      counts.failed++;
      failures.push(`${r.fullName} (suite): ${r.failedExpectations.map((e) => e.message).join('; ')}`);
    }
  },
  jasmineDone(r) {
    for (const e of r.failedExpectations) {
      counts.failed++;
      failures.push(`(top level): ${e.message}`);
    }
    SKIPS.forEach((s, i) => {
      if (skipHits[i] === 0) {
        counts.failed++;
        failures.push(`skip list: "${s.match}" matches no spec; remove it`);
      }
    });
    for (const s of skipped) process.stdout.write(`SKIPPED ${s}\n`);
    for (const f of failures.slice(0, 50)) process.stdout.write(`FAILED ${f}\n`);
    if (failures.length > 50) process.stdout.write(`... and ${failures.length - 50} more\n`);
    process.stdout.write(`tfjs-core ${tf.version_core} on ${backendName}: ` +
      `${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped\n`);
    process.exitCode = counts.failed > 0 || r.overallStatus === 'incomplete' ? 1 : 0;
  },
});
env.execute();
