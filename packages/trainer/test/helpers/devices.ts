/**
 * Devices as they really behave: they predict with the version the collector serves as stable, and a user reports
 * a wrong result only where the prediction was wrong (a right answer draws no correction). Used by the drift suite
 * and by the trainer's tests.
 */
import { CollectorClient, pick, predictLabels, storedModel, type ExampleSet } from '../../src/index.js';
import { sendCorrections } from './corrections.js';

export interface DeviceRound {
  version: string;
  predictions: number;
  /** Predictions that were wrong, each reported with its true label. */
  corrections: number;
}

/** Predicts `set` with the stable version of `model` and sends a correction for every wrong prediction. */
export async function predictAndCorrect(
  url: string,
  client: CollectorClient,
  model: string,
  set: ExampleSet,
  devicePrefix = 'device',
): Promise<DeviceRound> {
  const version = (await client.rollout(model))?.stable;
  if (!version) throw new Error(`model "${model}" has no stable version`);
  const net = await (await storedModel(client, model, version)).load();
  const predicted = await predictLabels(net, set);
  net.dispose();
  const wrong = [...Array(set.count).keys()].filter((i) => predicted[i] !== set.y[i]);
  const reported = pick(set, wrong);
  if (wrong.length) {
    await sendCorrections(url, reported, {
      model,
      version,
      devicePrefix,
      predictedOf: (i) => set.labels[predicted[wrong[i]!]!]!,
    });
  }
  return { version, predictions: set.count, corrections: wrong.length };
}
