import {describe, expect, it} from 'vitest';

import '../index.js';
import {checkSearchConfig, pct, points, runSearch, searchSettings, settingLabel, type SearchConfig} from './search.js';

const base: SearchConfig = {
  dataset: 'mnist',
  validationSplit: 0.125,
  seeds: [0, 1],
  student: 'keras-student',
  teacher: {model: 'deep-teacher', epochs: 1, augment: {}, schedule: {}, learningRate: 1e-3, weightDecay: 0, labelSmoothing: 0},
  batchSize: 32,
  space: {
    loss: ['kl', 'mse', 'dkd'],
    alpha: [0.5, 0.9],
    temperature: [2, 4],
    dkdAlpha: [1],
    dkdBeta: [4, 8],
    epochs: [3],
    augment: [{}, {shift: 2}],
    teacherView: ['same', 'clean'],
    schedule: [{}],
    learningRate: [1e-3],
    weightDecay: [0],
    labelSmoothing: [0],
  },
  mode: 'grid',
  out: '/nonexistent',
};

describe('search space', () => {
  it('collapses axes a loss ignores and the teacher view without augmentation', () => {
    const s = searchSettings(base);
    // Per alpha: kl 2 T; mse 1; dkd 2 T × 2 β → 7 losses·knobs; augment none → 1 view, shift2 → 2 views: 3.
    expect(s).toHaveLength(2 * 7 * 3);
    expect(s.filter((x) => x.loss === 'mse').every((x) => x.temperature === 2)).toBe(true);
    expect(s.filter((x) => x.loss !== 'dkd').every((x) => x.dkdBeta === 4)).toBe(true);
    expect(s.some((x) => !x.augment.shift && x.teacherView === 'clean')).toBe(false);
    expect(new Set(s.map((x) => JSON.stringify(x))).size).toBe(s.length);
  });

  it('a feature axis multiplies the grid, and `none` leaves the settings as they were', () => {
    const plain = searchSettings(base);
    const withFeatures = searchSettings({...base, space: {...base.space, feature: ['none', 'hint:conv1:relu4']}});
    expect(withFeatures).toHaveLength(2 * plain.length);
    // Same objects (so the same run keys) for `none`.
    expect(withFeatures.filter((x) => x.feature === undefined)).toEqual(plain);
    const hint = withFeatures.find((x) => x.feature !== undefined);
    expect(hint?.feature).toBe('hint:conv1:relu4');
    expect(settingLabel(hint as NonNullable<typeof hint>)).toContain('+ hint conv1:relu4');
  });

  it('rejects a malformed feature, and an unknown layer before training anything', async () => {
    expect(() => checkSearchConfig({...base, space: {...base.space, feature: ['hint:conv1']}})).toThrow(/feature "hint:conv1": expected none, hint:STUDENT_LAYER:TEACHER_LAYER/);
    expect(() => checkSearchConfig({...base, space: {...base.space, feature: ['fitnet:a:b']}})).toThrow(/feature "fitnet:a:b"/);
    await expect(runSearch({...base, space: {...base.space, feature: ['hint:conv9:relu4']}})).rejects.toThrow(/unknown student layer "conv9"/);
    // Shapes: keras-student conv2 is 7×7, deep-teacher relu4 is 14×14.
    await expect(runSearch({...base, space: {...base.space, feature: ['attention:conv2:relu4']}})).rejects.toThrow(/must both be feature maps \[n, h, w, c\] with the same h and w/);
  });

  it('random mode draws a seeded subset of the grid', () => {
    const a = searchSettings({...base, mode: 'random', samples: 5, searchSeed: 1});
    const b = searchSettings({...base, mode: 'random', samples: 5, searchSeed: 1});
    const c = searchSettings({...base, mode: 'random', samples: 5, searchSeed: 2});
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    const grid = new Set(searchSettings(base).map((x) => JSON.stringify(x)));
    for (const x of a) expect(grid.has(JSON.stringify(x))).toBe(true);
  });

  it('rejects an empty axis, an unknown loss, a validation split outside (0, 1) and mixup alpha ≤ 0', () => {
    expect(() => checkSearchConfig({...base, space: {...base.space, alpha: []}})).toThrow('search axis alpha is empty');
    expect(() => checkSearchConfig({...base, space: {...base.space, loss: ['kl', 'xx' as never]}})).toThrow('unknown distillation loss "xx"');
    expect(() => checkSearchConfig({...base, validationSplit: 0})).toThrow('validation split must be in (0, 1), got 0');
    expect(() => checkSearchConfig({...base, validationSplit: 1})).toThrow('validation split must be in (0, 1), got 1');
    expect(() => checkSearchConfig({...base, space: {...base.space, augment: [{mixup: 0}]}})).toThrow('mixup alpha must be a finite number > 0, got 0');
    expect(() => checkSearchConfig({...base, seeds: []})).toThrow('search axis seeds is empty');
    expect(() => checkSearchConfig({...base, teacherBatchSize: 0})).toThrow('teacher batch size must be a positive integer, got 0');
    expect(() => checkSearchConfig({...base, batchSize: 2.5})).toThrow('batch size must be a positive integer, got 2.5');
  });

  it('formats mean ± sample sd', () => {
    // [0.95, 0.96, 0.97]: mean 96.00, sd 1.00 points; differences [0.01, 0.02, -0.005]: mean +0.83, sd 1.26.
    expect(pct([0.95, 0.96, 0.97])).toBe('96.00 ± 1.00');
    expect(points([0.01, 0.02, -0.005])).toBe('+0.83 ± 1.26');
  });
});
