// Data augmentation and label smoothing wired into the engine: a batch transform for the loop's
// `augment` option, and a cross-entropy term that reads the label mix it produced.
import * as tf from '@tensorflow/tfjs-core';

import {augmentAt, checkAugmentSpec, mixedLabels, mixesLabels, type AugmentedBatch, type AugmentSpec} from '../data/augment.js';
import {smoothLabels, smoothTargets, softCrossEntropy} from '../losses/index.js';
import {UsageError} from '../util/registry.js';
import type {AugmentInfo, LossTerm} from './engine.js';

/** An augmentation for the loop's `augment` option and how it mixed its last batch. */
export interface BatchAugmentation {
  readonly spec: AugmentSpec;
  readonly augment: (x: tf.Tensor, info: AugmentInfo) => tf.Tensor;
  /** The mix (partners and λ) of the last augmented batch, or null when it was not mixed. */
  lastMix(): AugmentedBatch['mix'];
}

/**
 * Seeded augmentation of NHWC batches (see {@link AugmentSpec}): each batch's view depends only
 * on (seed, epoch, batch), so two models trained on the same batches see the same views and a
 * resumed run the same ones as an uninterrupted one.
 * @example const aug = batchAugmentation({shift: 2}); await fit(model, x, y, {augment: aug.augment});
 */
export function batchAugmentation(spec: AugmentSpec): BatchAugmentation {
  checkAugmentSpec(spec);
  let mix: AugmentedBatch['mix'] = null;
  return {
    spec,
    augment: (x, info) => {
      if (x.rank !== 4) throw new UsageError(`augmentation needs images [n, h, w, c], got shape [${x.shape}]`);
      const [n, h, w, c] = x.shape as [number, number, number, number];
      // The loop hands over images alone: the mix is kept (partners, λ) and the loss term turns
      // it into label distributions with the batch's labels.
      const r = augmentAt(x.dataSync() as Float32Array, new Int32Array(n), spec, {...info, shape: [h, w, c], classes: 1});
      mix = r.mix;
      return tf.tensor4d(r.images, [n, h, w, c]);
    },
    lastMix: () => mix,
  };
}

/** Options of {@link crossEntropyTerm}. */
export interface CrossEntropyTermOptions {
  /** Mixup/cutmix batches train on their mixed labels. */
  readonly augmentation?: BatchAugmentation;
  /** Label smoothing ε in [0, 1) (Szegedy et al. 2016): targets (1 − ε)·y + ε/C. @default 0 */
  readonly labelSmoothing?: number;
  /** @default 1 */
  readonly weight?: number;
  /** Log name. */
  readonly name?: string;
}

/**
 * The hard-label cross-entropy as an engine term, on the mixed labels of a mixup or cutmix batch
 * and with optional label smoothing. Without either it is the built-in (fused) cross-entropy.
 */
export function crossEntropyTerm(options: CrossEntropyTermOptions = {}): LossTerm {
  const {augmentation, labelSmoothing = 0, weight = 1, name} = options;
  if (!(labelSmoothing >= 0 && labelSmoothing < 1)) throw new UsageError(`label smoothing must be in [0, 1), got ${labelSmoothing}`);
  const mixes = augmentation != null && mixesLabels(augmentation.spec);
  if (!mixes && labelSmoothing === 0) return {kind: 'cross-entropy', weight, ...(name ? {name} : {})};
  return {
    kind: 'custom',
    name: name ?? 'crossEntropy',
    weight,
    fn: ({labels, logits}) => {
      const c = logits.shape[1] as number;
      const y = labels.dataSync();
      const mix = mixes ? (augmentation as BatchAugmentation).lastMix() : null;
      const targets = mix ? smoothTargets(mixedLabels(y, mix, c), c, labelSmoothing) : smoothLabels(y, c, labelSmoothing);
      return tf.tidy(() => softCrossEntropy(tf.tensor2d(targets, [y.length, c]), logits));
    },
  };
}
