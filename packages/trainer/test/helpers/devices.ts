/**
 * Devices as they really behave: they predict with the version the collector serves as stable, keep what the
 * version's policy keeps (predictions under its low-confidence threshold and a random sample of the rest, with their
 * inputs, the confidence calibrated by its temperature, as the runtime scores it), and a user reports a wrong result
 * only where the prediction was wrong (a right answer draws no correction). Used by the drift suite and by the
 * trainer's tests.
 */
import type { Event, PredictionEvent } from '@edgeloop/protocol';
import {
  applyTemperature,
  CollectorClient,
  DEFAULT_POLICY,
  mulberry32,
  predictProbs,
  storedModel,
  type ExampleSet,
} from '../../src/index.js';
import { postEvents, reportedPair } from './corrections.js';

export interface DeviceRound {
  version: string;
  predictions: number;
  /** Predictions that were wrong, each reported with its true label. */
  corrections: number;
  /** Right predictions the policy kept and uploaded with their input (low-confidence, or sampled). */
  kept: number;
}

/**
 * Predicts `set` with the stable version of `model`, uploads the right predictions its policy keeps, and sends a
 * correction for every wrong prediction (the prediction, `reported`, with its input). The sample is seeded by
 * `devicePrefix`, so a round is the same every run.
 */
export async function predictAndCorrect(
  url: string,
  client: CollectorClient,
  model: string,
  set: ExampleSet,
  devicePrefix = 'device',
): Promise<DeviceRound> {
  const version = (await client.rollout(model))?.stable;
  if (!version) throw new Error(`model "${model}" has no stable version`);
  const stored = await storedModel(client, model, version);
  const { policy = DEFAULT_POLICY, output } = stored.version.meta;
  const net = await stored.load();
  const k = set.labels.length;
  const probs = applyTemperature(await predictProbs(net, set), k, output?.temperature ?? 1);
  net.dispose();
  const random = devicesRandom(devicePrefix);
  const events: Event[] = [];
  let corrections = 0;
  let kept = 0;
  for (let i = 0; i < set.count; i++) {
    let best = 0;
    for (let j = 1; j < k; j++) if (probs[i * k + j]! > probs[i * k + best]!) best = j;
    const confidence = probs[i * k + best]!;
    const predicted = set.labels[best]!;
    const output: PredictionEvent['output'] = {
      label: predicted,
      confidence,
      topK: [{ label: predicted, p: confidence }],
    };
    const deviceId = `${devicePrefix}-${i % 25}`;
    const [prediction, correction] = await reportedPair(set, i, { model, version, deviceId, output });
    const reason = keepReason(policy, confidence, random);
    if (best !== set.y[i]) {
      events.push(prediction, correction);
      corrections++;
    } else if (reason) {
      events.push({ ...prediction, reason });
      kept++;
    }
  }
  await postEvents(url, events);
  return { version, predictions: set.count, corrections, kept };
}

/** The seeded random numbers of the devices named `prefix`-…: a round's sample is the same every run. */
export function devicesRandom(prefix: string): () => number {
  return mulberry32([...prefix].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7));
}

/** As the runtime's keepReason: every low-confidence prediction, and a sample of the rest (null: not kept). */
export function keepReason(
  policy: { lowConfidence: number; sampleRate: number },
  confidence: number,
  random: () => number,
): 'low_confidence' | 'sample' | null {
  return confidence < policy.lowConfidence ? 'low_confidence' : random() < policy.sampleRate ? 'sample' : null;
}
