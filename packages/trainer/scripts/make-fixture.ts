/**
 * Trains a small digits model quickly on real MNIST digits and writes a fixture other packages can load:
 *   <outDir>/model.onnx, <outDir>/tfjs/model.json + weights.bin, <outDir>/meta.json
 * Usage: node --conditions=source --import tsx packages/trainer/scripts/make-fixture.ts <outDir> [examples] [epochs]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  buildDigitsModel,
  DIGITS_INPUT,
  evaluateModel,
  exportModel,
  fitModel,
  loadMnist,
  useBackend,
} from '../src/index.js';

const [outDir, examples = '3000', epochs = '4'] = process.argv.slice(2);
if (!outDir) {
  console.error('usage: make-fixture.ts <outDir> [examples=3000] [epochs=4]');
  process.exit(2);
}
await useBackend('cpu');
const train = loadMnist('train', Number(examples));
const test = loadMnist('test');
const model = buildDigitsModel({ seed: 7 });
const fit = await fitModel(model, train, { epochs: Number(epochs), batchSize: 32 });
const evaluation = await evaluateModel(model, test);
const exported = await exportModel(model, test.x);
mkdirSync(join(outDir, 'tfjs'), { recursive: true });
for (const f of exported.files)
  writeFileSync(f.format === 'onnx' ? join(outDir, f.name) : join(outDir, 'tfjs', f.name), f.bytes);
const meta = {
  model: 'digits',
  labels: train.labels,
  input: DIGITS_INPUT,
  onnx: { input: 'input', output: 'output', layout: 'NHWC' },
  accuracy: evaluation.accuracy,
  evaluatedOn: `mnist test part (${test.count} digits)`,
  trainedOn: `mnist train part, first ${train.count} digits, ${fit.epochs} epochs`,
  parity: exported.parity,
};
writeFileSync(join(outDir, 'meta.json'), JSON.stringify(meta, null, 2) + '\n');
console.log(
  `wrote ${outDir}: accuracy ${(evaluation.accuracy * 100).toFixed(1)} % on ${test.count} test digits, ` +
    `ONNX parity max diff ${exported.parity?.maxAbsDiff.toExponential(2)}, ${fit.seconds.toFixed(1)} s training`,
);
