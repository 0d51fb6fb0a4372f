/**
 * Bootstrap: the first digits model of an empty registry — trained on the real MNIST digits of the `mnist`
 * package, its golden set built from MNIST's held-out golden part and uploaded, published as the first version
 * and made stable.
 */
import type { Policy } from '@edgeloop/protocol';
import type { CollectorClient } from '../collector/client.js';
import { take } from '../data/examples.js';
import { loadMnist } from '../data/mnist.js';
import { encodeExamples } from '../data/wire.js';
import { exportModel } from '../export/artifacts.js';
import { buildDigitsModel, DIGITS_INPUT } from '../model/digits.js';
import { evaluateModel } from '../train/evaluate.js';
import { applyTemperature, expectedCalibrationError, fitTemperature, predictProbs } from '../train/calibrate.js';
import { fitModel } from '../train/fit.js';
import { codeVersion, makeStable, publishVersion } from './publish.js';
import { silent, type Reporter } from './reporter.js';

export interface BootstrapOptions {
  model: string;
  /** Training examples from MNIST's train part (default: all of it, about 6,000). */
  examples?: number;
  epochs?: number;
  /** Adam's learning rate (default 2e-3: a fresh model, few epochs). */
  learningRate?: number;
  /** Golden examples from MNIST's golden part (default: all of it, about 1,500). */
  goldenSize?: number;
  /** What the runtime keeps: predictions under `lowConfidence` and a `sampleRate` sample. */
  policy?: Policy;
  seed?: number;
  backend?: string;
  reporter?: Reporter;
}

export type BootstrapResult =
  | { status: 'exists'; message: string; stable: string | null }
  | { status: 'published'; version: string; metrics: Record<string, number>; golden: { id: string; examples: number } };

export const DEFAULT_POLICY: Policy = { lowConfidence: 0.7, sampleRate: 0.05 };

/** Trains, gates nothing (there is nothing to compare with), uploads the golden set, publishes and makes stable. */
export async function bootstrap(client: CollectorClient, options: BootstrapOptions): Promise<BootstrapResult> {
  const r = options.reporter ?? silent;
  const { model } = options;
  const existing = await client.versions(model);
  if (existing.length > 0) {
    const stable = (await client.rollout(model))?.stable ?? null;
    return {
      status: 'exists',
      message: `model "${model}" already has ${existing.length} version(s) (stable: ${stable ?? 'none'}); bootstrap only starts an empty model`,
      stable,
    };
  }
  const seed = options.seed ?? 1;
  const epochs = options.epochs ?? 3;
  const train = loadMnist('train', options.examples ?? Infinity);
  const golden = loadMnist('golden', options.goldenSize ?? Infinity);
  const test = loadMnist('test');
  r.step(`training the digits CNN on ${train.count} MNIST digits, ${epochs} epochs`);
  const net = buildDigitsModel({ seed });
  const learningRate = options.learningRate ?? 2e-3;
  const fit = await fitModel(net, train, {
    epochs,
    learningRate,
    seed,
    onProgress: (p) =>
      r.progress('train', p.samples, p.total, `epoch ${p.epoch + 1}/${p.epochs} loss ${p.loss.toFixed(4)}`),
  });
  const [onGolden, onTest] = [await evaluateModel(net, golden), await evaluateModel(net, test)];
  r.step(`accuracy: golden ${(onGolden.accuracy * 100).toFixed(2)} %, test ${(onTest.accuracy * 100).toFixed(2)} %`);
  // Calibration: a temperature fitted on the test part, its effect measured on the golden set.
  const k = train.labels.length;
  const { temperature } = fitTemperature(await predictProbs(net, test), test.y, k);
  const goldenProbs = await predictProbs(net, golden);
  const ece = {
    before: expectedCalibrationError(goldenProbs, golden.y, k),
    after: expectedCalibrationError(applyTemperature(goldenProbs, k, temperature), golden.y, k),
  };
  r.step(
    `calibration: temperature ${temperature}; ECE on the golden set ${(ece.before * 100).toFixed(2)} % → ${(ece.after * 100).toFixed(2)} %`,
  );

  r.step(`uploading the golden set (${golden.count} held-out digits)`);
  const goldenSet = await client.putGolden(model, await encodeExamples(take(golden, golden.count), 'golden'));

  r.step('exporting TF.js Layers and ONNX (parity-checked on the golden inputs)');
  const exported = await exportModel(net, golden.x);
  net.dispose();
  const metrics: Record<string, number> = {
    'golden.accuracy': onGolden.accuracy,
    'test.accuracy': onTest.accuracy,
    'train.examples': train.count,
    'train.loss': fit.loss.at(-1) ?? 0,
    'train.samplesPerSec': fit.samplesPerSec,
    'parity.maxAbsDiff': exported.parity?.maxAbsDiff ?? 0,
    'calibration.temperature': temperature,
    'ece.before': ece.before,
    'ece.after': ece.after,
  };
  const version = await publishVersion(
    client,
    model,
    {
      parent: null,
      batches: [],
      metrics,
      labels: [...train.labels],
      input: DIGITS_INPUT,
      output: { temperature },
      policy: options.policy ?? DEFAULT_POLICY,
      trainer: {
        kind: 'bootstrap',
        baseData: 'mnist:train',
        architecture: 'digits-cnn',
        examples: train.count,
        epochs,
        learningRate,
        seed,
        backend: options.backend ?? 'cpu',
        golden: goldenSet.id,
      },
      codeVersion: codeVersion(),
    },
    exported.files,
  );
  // The caller says it (the CLI's result line: "published v1 as the stable version of …"), once.
  await makeStable(client, model, version, `trainer: bootstrap of "${model}" from MNIST`);
  return { status: 'published', version, metrics, golden: { id: goldenSet.id, examples: golden.count } };
}
