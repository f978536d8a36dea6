import {describe, expect, it} from 'vitest';

import {UsageError} from '../util/registry.js';
import {constantSparsity, polynomialDecay, shouldPruneInStep} from './schedule.js';

describe('constantSparsity (TFMOT ConstantSparsity)', () => {
  // s = 0.5, begin 100, end 400, frequency 100: prune at 100, 200, 300, 400 only.
  //   step 0, 99: before begin → no; 150: (150 − 100) mod 100 = 50 → no; 400: end is inclusive → yes;
  //   500: (500 − 100) mod 100 = 0 but after end → no. The sparsity is 0.5 at every step.
  const s = constantSparsity({targetSparsity: 0.5, beginStep: 100, endStep: 400, frequency: 100});
  it.each([
    [0, false],
    [99, false],
    [100, true],
    [150, false],
    [200, true],
    [300, true],
    [400, true],
    [401, false],
    [500, false],
  ])('step %i → prune %s', (step, prune) => {
    expect(s.decide(step)).toEqual({prune, sparsity: 0.5});
  });

  it('end −1 (the default) prunes forever, every frequency steps from begin', () => {
    // begin 0, frequency 100 (the default): 100000 mod 100 = 0 → yes; 100001 → no.
    const c = constantSparsity({targetSparsity: 0.8});
    expect(c.decide(0).prune).toBe(true);
    expect(c.decide(100_000).prune).toBe(true);
    expect(c.decide(100_001).prune).toBe(false);
    expect(c.decide(50).prune).toBe(false);
  });

  it('rejects a sparsity outside [0, 1) and bad steps, quoting the value', () => {
    expect(() => constantSparsity({targetSparsity: 1})).toThrow(new UsageError('sparsity must be in [0, 1), got 1'));
    expect(() => constantSparsity({targetSparsity: -0.1})).toThrow(/got -0.1/);
    expect(() => constantSparsity({targetSparsity: NaN})).toThrow(/got NaN/);
    expect(() => constantSparsity({targetSparsity: 0.5, beginStep: 10, endStep: 5})).toThrow(/end-step .*got 5/);
    expect(() => constantSparsity({targetSparsity: 0.5, frequency: 0})).toThrow(/frequency .*got 0/);
    expect(() => constantSparsity({targetSparsity: 0.5, beginStep: -1})).toThrow(/begin-step .*got -1/);
  });
});

describe('polynomialDecay (TFMOT PolynomialDecay)', () => {
  // s0 = 0.2, s1 = 0.8, begin 100, end 500, power 3, frequency 100:
  //   p = clamp((step − 100)/400, 0, 1), s = (0.2 − 0.8)·(1 − p)³ + 0.8 = 0.8 − 0.6·(1 − p)³
  //   step   0: p = 0 (clamped from −0.25)  → s = 0.2,                          prune no (before begin)
  //   step 100: p = 0                        → s = 0.2,                          prune yes
  //   step 200: p = 0.25, (0.75)³ = 0.421875 → s = 0.8 − 0.253125 = 0.546875,    prune yes
  //   step 250: p = 0.375, (0.625)³ = 0.244140625 → s = 0.8 − 0.146484375 = 0.653515625, prune no (150 mod 100 = 50)
  //   step 300: p = 0.5, (0.5)³ = 0.125      → s = 0.8 − 0.075 = 0.725,          prune yes
  //   step 500: p = 1                        → s = 0.8,                          prune yes (end inclusive)
  //   step 600: p = 1 (clamped from 1.25)    → s = 0.8,                          prune no (after end)
  const s = polynomialDecay({initialSparsity: 0.2, finalSparsity: 0.8, beginStep: 100, endStep: 500, power: 3, frequency: 100});
  it.each([
    [0, false, 0.2],
    [100, true, 0.2],
    [200, true, 0.546875],
    [250, false, 0.653515625],
    [300, true, 0.725],
    [500, true, 0.8],
    [600, false, 0.8],
  ])('step %i → prune %s at %f', (step, prune, sparsity) => {
    const d = s.decide(step);
    expect(d.prune).toBe(prune);
    expect(d.sparsity).toBeCloseTo(sparsity, 12);
  });

  it('power 1 is linear; frequency 5 prunes at 0, 5, 10', () => {
    // s0 = 0, s1 = 0.5, begin 0, end 10: s = 0.5 − 0.5·(1 − step/10); step 3 → 0.15, step 5 → 0.25.
    const lin = polynomialDecay({finalSparsity: 0.5, endStep: 10, power: 1, frequency: 5});
    expect(lin.decide(3).prune).toBe(false);
    expect(lin.decide(3).sparsity).toBeCloseTo(0.15, 12);
    expect(lin.decide(5)).toEqual({prune: true, sparsity: 0.25});
    expect(lin.decide(10)).toEqual({prune: true, sparsity: 0.5});
  });

  it('rejects end ≤ begin and sparsities outside [0, 1)', () => {
    expect(() => polynomialDecay({finalSparsity: 0.8, beginStep: 100, endStep: 100})).toThrow(
      new UsageError('end-step must be > begin-step (100) for a polynomial schedule, got 100'),
    );
    expect(() => polynomialDecay({finalSparsity: 0.8, beginStep: 100, endStep: 50})).toThrow(/got 50/);
    expect(() => polynomialDecay({finalSparsity: 0.8, endStep: -1})).toThrow(/cannot be -1/);
    expect(() => polynomialDecay({finalSparsity: 1.5, endStep: 10})).toThrow(/sparsity must be in \[0, 1\), got 1.5/);
    expect(() => polynomialDecay({initialSparsity: -1, finalSparsity: 0.5, endStep: 10})).toThrow(/initial sparsity .*got -1/);
  });
});

describe('shouldPruneInStep', () => {
  it('uses a floor modulo, as tf.math.floormod, so steps before begin never match by accident', () => {
    // step 50, begin 100, frequency 50: (50 − 100) floormod 50 = 0, but 50 < begin → no.
    expect(shouldPruneInStep(50, 100, -1, 50)).toBe(false);
    expect(shouldPruneInStep(150, 100, -1, 50)).toBe(true);
  });
});
