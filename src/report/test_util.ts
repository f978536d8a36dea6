// A results.json with every kind of variant the report draws, small enough to check by hand.

const hist = (losses: number[], accs: number[]) => losses.map((loss, epoch) => ({
  epoch, loss, accuracy: accs[epoch], valLoss: loss * 0.9, valAccuracy: Math.min(1, accs[epoch] + 0.01),
}));

/** teacher, distilled, scratch, pruned (sparsity, fine-tuning history) and quantized (no history). */
export function sampleResults(): Record<string, unknown> {
  return {
    dataset: 'mnist',
    trainSize: 8000,
    testSize: 2000,
    backend: 'native',
    settings: {teacher: 'deep-teacher', student: 'keras-student', alpha: 0.9},
    someNewField: {added: 'later'},
    environment: {backend: 'native', node: 'v20', command: 'hafif demo --out <x>'},
    runs: [
      {name: 'teacher', model: 'deep-teacher', params: 141418, bytes: 565672, gzipBytes: 522000, testAccuracy: 0.9675, testLoss: 0.11,
        trainSeconds: 140, inferenceImagesPerSecond: 1800, history: hist([0.5, 0.2, 0.1], [0.85, 0.95, 0.97]),
        confusion: [[9, 1, 0], [0, 8, 2], [1, 0, 9]]},
      {name: 'distilled', model: 'keras-student', params: 20490, bytes: 81960, gzipBytes: 75000, testAccuracy: 0.947, testLoss: 0.19,
        trainSeconds: 6, inferenceImagesPerSecond: 70000, history: hist([0.6, 0.3], [0.8, 0.94]),
        confusion: [[8, 2, 0], [1, 9, 0], [0, 0, 10]]},
      {name: 'scratch', model: 'keras-student', params: 20490, bytes: 81960, gzipBytes: 75100, testAccuracy: 0.942, testLoss: 0.2,
        trainSeconds: 2, inferenceImagesPerSecond: 71000, history: hist([0.7, 0.35], [0.78, 0.93])},
      {name: 'pruned', model: 'keras-student', params: 20490, bytes: 81960, gzipBytes: 30000, testAccuracy: 0.94, testLoss: 0.21,
        trainSeconds: 3, inferenceImagesPerSecond: 69000, history: hist([0.3], [0.93]),
        sparsity: {conv2d_1: 0.5, conv2d_2: 0.8, dense_1: 0.9}},
      {name: 'quantized', model: 'keras-student', params: 20490, bytes: 20490, gzipBytes: 18000, testAccuracy: 0.945, bits: 8,
        inferenceImagesPerSecond: 50000},
    ],
  };
}
