import {describe, expect, it} from 'vitest';

import {createSchedule} from './schedules.js';

describe('learning-rate schedules', () => {
  it('one-cycle matches PyTorch OneCycleLR (max 3e-3, 10 steps) in rate and β1', () => {
    // From /usr/bin/python3 with torch 1.13: OneCycleLR(Adam(lr=1e-3), 3e-3, total_steps=10),
    // param_groups[0]['lr'] and ['betas'][0] read before each of the 10 steps.
    const lr = [0.00012, 0.00156, 0.003, 0.00285145, 0.00243524, 0.00183379, 0.00116623, 0.000564775, 0.000148558, 1.2e-8];
    const b1 = [0.95, 0.9, 0.85, 0.854952, 0.868826, 0.888874, 0.911126, 0.931174, 0.945048, 0.95];
    const s = createSchedule({name: 'one-cycle', peakFactor: 3}, 1e-3, 10);
    for (let i = 0; i < 10; i++) {
      expect(s(i).learningRate).toBeCloseTo(lr[i], 8);
      expect(s(i).beta1 as number).toBeCloseTo(b1[i], 5);
    }
  });

  it('cosine warms up linearly, peaks, then decays to 0', () => {
    const s = createSchedule({name: 'cosine', warmup: 0.2}, 0.1, 10);
    // 2 warm-up steps: 0.05, 0.1; then 0.1·(1 + cos(π·k/8))/2 for k = 0..7.
    expect(s(0).learningRate).toBeCloseTo(0.05, 10);
    expect(s(1).learningRate).toBeCloseTo(0.1, 10);
    expect(s(2).learningRate).toBeCloseTo(0.1, 10);
    expect(s(6).learningRate).toBeCloseTo(0.05, 10);
    expect(s(9).learningRate).toBeCloseTo(0.1 * (1 + Math.cos((Math.PI * 7) / 8)) / 2, 10);
  });

  it('constant is the base rate; bad specs name the value', () => {
    expect(createSchedule({}, 0.01, 5)(4).learningRate).toBe(0.01);
    expect(() => createSchedule({name: 'step' as never}, 0.01, 5)).toThrow('unknown learning-rate schedule "step"');
    expect(() => createSchedule({name: 'cosine', warmup: 1}, 0.01, 5)).toThrow('warmup must be in [0, 1), got 1');
  });
});
