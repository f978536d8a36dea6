import * as tfl from '@tensorflow/tfjs-layers';

/** A layer's kernel initializer as the registry's models give it. */
export type Initializer = 'glorotUniform' | ReturnType<typeof tfl.initializers.glorotUniform>;

/**
 * One Glorot-uniform initializer per call, seeded seed, seed + 1, ... in the order the layers are
 * built (so the same seed gives bit-identical weights), or unseeded ones when seed is undefined.
 */
export function initializers(seed: number | undefined): () => Initializer {
  let s = seed;
  return () => (s === undefined ? 'glorotUniform' : tfl.initializers.glorotUniform({seed: s++}));
}
