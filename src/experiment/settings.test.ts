import {describe, expect, it} from 'vitest';

import {KERAS_SETTINGS, RECOMMENDED_EVIDENCE, RECOMMENDED_SETTINGS, expectedGainNote, type ExperimentSettings} from './settings.js';

const recommended: ExperimentSettings = {...RECOMMENDED_SETTINGS, teacher: 'deep-teacher', student: 'keras-student', seed: 0};

describe('expectedGainNote', () => {
  it('states the searched gain and spread, and this run\'s, for the recommended recipe on the embedded MNIST', () => {
    const note = expectedGainNote(recommended, 'mnist', 8000, 1.05);
    expect(note).toBe(`expected distilled − scratch for this recipe: +${RECOMMENDED_EVIDENCE.meanPoints.toFixed(2)} ± ` +
      `${RECOMMENDED_EVIDENCE.sdPoints.toFixed(2)} points (hafif search, 3 seeds, validation split); this run, on test: +1.05`);
    expect(expectedGainNote(recommended, 'mnist', 8000, -0.3)).toMatch(/this run, on test: −0\.30$/);
    // A seed is not part of the recipe.
    expect(expectedGainNote({...recommended, seed: 4}, 'mnist', 8000, null)).toMatch(/validation split\)$/);
  });

  it('says nothing of recipes or data the search did not measure', () => {
    expect(expectedGainNote({...recommended, alpha: 0.5}, 'mnist', 8000, 1)).toBeNull();
    expect(expectedGainNote({...recommended, ...KERAS_SETTINGS, teacher: 'keras-teacher'}, 'mnist', 8000, 1)).toBeNull();
    expect(expectedGainNote({...recommended, epochsStudent: 10}, 'mnist', 8000, 1)).toBeNull();
    expect(expectedGainNote(recommended, 'fashion-mnist', 8000, 1)).toBeNull();
    expect(expectedGainNote(recommended, 'mnist', 512, 1)).toBeNull();
  });
});
