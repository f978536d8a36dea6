import {describe, expect, it} from 'vitest';

import {
  KERAS_SETTINGS,
  QUICK_EVIDENCE,
  QUICK_SETTINGS,
  RECOMMENDED_EVIDENCE,
  RECOMMENDED_SETTINGS,
  expectedGainNote,
  type ExperimentSettings,
} from './settings.js';

const models = {teacher: 'deep-teacher', student: 'keras-student', seed: 0};
const recommended: ExperimentSettings = {...RECOMMENDED_SETTINGS, ...models};
const quick: ExperimentSettings = {...QUICK_SETTINGS, ...models};

describe('expectedGainNote', () => {
  it('states the searched gain and spread, and this run\'s, for the recommended recipe on the embedded MNIST', () => {
    const note = expectedGainNote(recommended, 'mnist', 8000, 1.05);
    const best = RECOMMENDED_EVIDENCE.againstBestScratch;
    expect(note).toBe(`expected distilled − scratch for this recipe: +${RECOMMENDED_EVIDENCE.meanPoints.toFixed(2)} ± ` +
      `${RECOMMENDED_EVIDENCE.sdPoints.toFixed(2)} points (hafif search, 3 seeds, ${RECOMMENDED_EVIDENCE.split} split` +
      `${best ? `; against the best scratch recipe found, ${best.recipe}: ${best.meanPoints >= 0 ? '+' : '−'}${Math.abs(best.meanPoints).toFixed(2)} ± ${best.sdPoints.toFixed(2)}` : ''}` +
      `); this run, on test: +1.05`);
    expect(expectedGainNote(recommended, 'mnist', 8000, -0.3)).toMatch(/this run, on test: −0\.30$/);
    // A seed is not part of the recipe.
    expect(expectedGainNote({...recommended, seed: 4}, 'mnist', 8000, null)).toBe(note?.replace(/; this run, on test: .*$/, ''));
  });

  it('states the quick recipe\'s own evidence', () => {
    expect(expectedGainNote(quick, 'mnist', 8000, null)).toBe(`expected distilled − scratch for this recipe: ` +
      `+${QUICK_EVIDENCE.meanPoints.toFixed(2)} ± ${QUICK_EVIDENCE.sdPoints.toFixed(2)} points (hafif search, 3 seeds, validation split)`);
    // Settings written before ensembles and schedules (no such fields) are the quick recipe too.
    const {teachers: _t, teacherAugment: _a, teacherSchedule: _s, studentSchedule: _ss, ...old} = quick;
    expect(expectedGainNote(old, 'mnist', 8000, null)).toBe(expectedGainNote(quick, 'mnist', 8000, null));
  });

  it('says nothing of recipes or data the search did not measure', () => {
    expect(expectedGainNote({...recommended, alpha: 0.5}, 'mnist', 8000, 1)).toBeNull();
    expect(expectedGainNote({...recommended, teachers: 1}, 'mnist', 8000, 1)).toBeNull();
    expect(expectedGainNote({...recommended, studentSchedule: 'constant'}, 'mnist', 8000, 1)).toBeNull();
    expect(expectedGainNote({...recommended, temperature: 2}, 'mnist', 8000, 1)).toBeNull();
    expect(expectedGainNote({...recommended, ...KERAS_SETTINGS, teacher: 'keras-teacher'}, 'mnist', 8000, 1)).toBeNull();
    expect(expectedGainNote({...recommended, epochsStudent: 3}, 'mnist', 8000, 1)).toBeNull();
    expect(expectedGainNote({...quick, epochsStudent: 10}, 'mnist', 8000, 1)).toBeNull();
    expect(expectedGainNote(recommended, 'fashion-mnist', 8000, 1)).toBeNull();
    expect(expectedGainNote(recommended, 'mnist', 512, 1)).toBeNull();
  });
});
