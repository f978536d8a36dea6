// Feature distillation on named intermediate layers: FitNets hints and attention transfer as
// engine loss terms.
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

import {attentionTransferTensor, hintTensor} from '../losses/index.js';
import type {LossTerm} from '../train/index.js';
import {UsageError} from '../util/registry.js';

/**
 * One feature loss between a student layer and a teacher layer, named as in `model.layers`
 * (the registry's models have stable names: conv1, bn1, relu1, pool1, ..., gap, logits).
 */
export interface FeatureLossSpec {
  /**
   * 'hint': FitNets (Romero et al., ICLR 2015), a learned 1×1 regressor maps the student's map to
   * the teacher's channels, loss mean (r(F_s) − F_t)². 'attention': attention transfer (Zagoruyko &
   * Komodakis, ICLR 2017), loss mean (Q_s − Q_t)² of the L2-normalized channel means of F².
   */
  readonly kind: 'hint' | 'attention';
  readonly studentLayer: string;
  readonly teacherLayer: string;
  /** Weight of the term. @default 1 for hint, 500 for attention (the paper's β/2 with β = 1000) */
  readonly weight?: number;
}

/** A feature term for the engine, and what to free after training. */
export interface FeatureTerm {
  readonly term: LossTerm;
  dispose(): void;
}

let nextId = 0;

function layerOutput(model: tfl.LayersModel, name: string, role: 'student' | 'teacher'): tfl.SymbolicTensor {
  const layer = model.layers.find((l) => l.name === name);
  if (layer == null) {
    throw new UsageError(`unknown ${role} layer "${name}"; expected one of ${model.layers.map((l) => l.name).join(', ')}`);
  }
  return layer.output as tfl.SymbolicTensor;
}

/**
 * The term of `spec`: the student layer's output is recomputed from the batch inside the tape
 * (the layers up to it run twice per step; batch-norm layers among them update their moving
 * statistics twice), the teacher's in inference mode on the same batch — the student's view,
 * whatever `teacherView` says of the logits. Shapes are checked here: both maps [n, h, w, c]
 * with equal h and w.
 * @example featureTerm(teacher, student, {kind: 'hint', studentLayer: 'conv2', teacherLayer: 'relu4'}, 0)
 */
export function featureTerm(teacher: tfl.LayersModel, student: tfl.LayersModel, spec: FeatureLossSpec, seed: number): FeatureTerm {
  if (spec.kind !== 'hint' && spec.kind !== 'attention') {
    throw new UsageError(`unknown feature loss "${String(spec.kind)}"; expected hint or attention`);
  }
  const so = layerOutput(student, spec.studentLayer, 'student');
  const to = layerOutput(teacher, spec.teacherLayer, 'teacher');
  const ss = so.shape;
  const ts = to.shape;
  if (ss.length !== 4 || ts.length !== 4 || ss[1] !== ts[1] || ss[2] !== ts[2]) {
    throw new UsageError(
      `${spec.kind}: student layer ${spec.studentLayer} [${ss.map(String)}] and teacher layer ${spec.teacherLayer} [${ts.map(String)}] ` +
        'must both be feature maps [n, h, w, c] with the same h and w',
    );
  }
  const weight = spec.weight ?? (spec.kind === 'hint' ? 1 : 500);
  if (!(weight >= 0) || !Number.isFinite(weight)) throw new UsageError(`feature loss weight must be a finite number >= 0, got ${weight}`);
  const sFeat = tfl.model({inputs: student.inputs, outputs: so});
  const tFeat = tfl.model({inputs: teacher.inputs, outputs: to});
  const cs = ss[3] as number;
  const ct = ts[3] as number;
  const variables: tf.Variable[] = [];
  if (spec.kind === 'hint') {
    const id = `${spec.studentLayer}_${seed}_${nextId++}`;
    // tidy frees the initial values; the variables keep the data.
    variables.push(...tf.tidy(() => [
      tf.variable(tfl.initializers.glorotUniform({seed}).apply([cs, ct]) as tf.Tensor, true, `hint_regressor_kernel_${id}`),
      tf.variable(tf.zeros([ct]), true, `hint_regressor_bias_${id}`),
    ]));
  }
  const name = spec.kind === 'hint' ? `hint_${spec.studentLayer}` : `attention_${spec.studentLayer}`;
  const term: LossTerm = {
    kind: 'custom',
    name,
    weight,
    variables,
    fn: ({x}) => {
      const ft = tf.tidy(() => tFeat.apply(x, {training: false}) as tf.Tensor);
      const fs = sFeat.apply(x, {training: true}) as tf.Tensor;
      try {
        return spec.kind === 'hint' ? hintTensor(fs, ft, variables[0], variables[1]) : attentionTransferTensor(fs, ft);
      } finally {
        ft.dispose();
      }
    },
  };
  return {term, dispose: () => tf.dispose(variables)};
}

/**
 * `STUDENT:TEACHER` as the CLI writes a feature loss (`--hint-layer conv2:relu4`), parsed and
 * checked against both models: a UsageError names an unknown layer or unmatched shapes.
 */
export function parseFeatureLoss(kind: FeatureLossSpec['kind'], text: string): FeatureLossSpec {
  const m = /^([^:\s]+):([^:\s]+)$/.exec(text);
  if (m == null) throw new UsageError(`--${kind === 'hint' ? 'hint' : 'attention'}-layer "${text}": expected STUDENT_LAYER:TEACHER_LAYER, e.g. conv2:relu4`);
  return {kind, studentLayer: m[1] as string, teacherLayer: m[2] as string};
}

/** Throws a UsageError when `spec` does not fit the two models (names, shapes); builds nothing it keeps. */
export function checkFeatureLoss(teacher: tfl.LayersModel, student: tfl.LayersModel, spec: FeatureLossSpec): void {
  featureTerm(teacher, student, spec, 0).dispose();
}
