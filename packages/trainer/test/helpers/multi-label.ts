/**
 * A multi-label data set made from MNIST digits, deterministically (no download): each digit gets the tags that
 * describe it — "even", "ge5" (5 or more), "loop" (0, 6, 8, 9) and "straight" (1, 4, 7) — and devices that report
 * wrong tag sets the way the runtime does: a `reported` prediction with its input, then a correction with `labels`.
 */
import { newId, sha256Hex, type Event } from '@edgeloop/protocol';
import {
  CollectorClient,
  DEFAULT_POLICY,
  exampleSize,
  pick,
  predictLogits,
  scoreLabelSets,
  storedModel,
  type ExampleSet,
} from '../../src/index.js';
import { postEvents } from './corrections.js';
import { devicesRandom, keepReason } from './devices.js';

export const TAGS: readonly string[] = ['even', 'ge5', 'loop', 'straight'];

/** The tags of digit `d`, as booleans in TAGS order. */
export function tagsOf(d: number): boolean[] {
  return [d % 2 === 0, d >= 5, [0, 6, 8, 9].includes(d), [1, 4, 7].includes(d)];
}

/** A digits set relabeled with tag sets (multi-hot `yMulti`, labels TAGS). */
export function digitTags(set: ExampleSet): ExampleSet {
  const k = TAGS.length;
  const yMulti = new Float32Array(set.count * k);
  const y = new Int32Array(set.count);
  for (let i = 0; i < set.count; i++) {
    const on = tagsOf(Number(set.labels[set.y[i]!]));
    on.forEach((v, j) => (yMulti[i * k + j] = v ? 1 : 0));
    y[i] = Math.max(0, on.indexOf(true));
  }
  const size = exampleSize(set.shape);
  return { x: set.x.subarray(0, set.count * size), y, yMulti, count: set.count, shape: set.shape, labels: TAGS };
}

/** The label set of example `i`. */
export function setOf(set: ExampleSet, i: number): string[] {
  const k = set.labels.length;
  return set.labels.filter((_, j) => set.yMulti![i * k + j]! > 0.5);
}

/**
 * Predicts `set` with the stable version of `model` (per-label sigmoids after the version's temperature, as the
 * runtime scores them: every label at 0.5 or more, the least certain decision as the confidence) and, for every
 * example whose predicted tag set is wrong, sends the `reported` prediction and a correction with `labelsOf(i)`
 * (default: the true set) from one of 25 devices. With `keep`, the right predictions the version's policy keeps
 * (under its low-confidence threshold, and a seeded sample of the rest) are uploaded too, with their input and
 * predicted set, as the runtime does. Resolves to how many were reported, and how many right ones were kept.
 */
export async function reportWrongSets(
  url: string,
  client: CollectorClient,
  model: string,
  set: ExampleSet,
  labelsOf: (i: number) => string[] = (i) => setOf(set, i),
  options: { keep?: boolean; devicePrefix?: string } = {},
): Promise<{ reported: number; kept: number }> {
  const version = (await client.rollout(model))!.stable!;
  const stored = await storedModel(client, model, version);
  const { policy = DEFAULT_POLICY, output } = stored.version.meta;
  const net = await stored.load();
  const logits = await predictLogits(net, set);
  const scored = scoreLabelSets(logits, set);
  net.dispose();
  const k = set.labels.length;
  const temperature = output?.temperature ?? 1;
  const prefix = options.devicePrefix ?? 'device';
  const random = devicesRandom(prefix);
  const size = exampleSize(set.shape);
  const events: Event[] = [];
  let [wrong, kept] = [0, 0];
  for (let i = 0; i < set.count; i++) {
    const probs = set.labels.map((_, j) => 1 / (1 + Math.exp(-logits[i * k + j]! / temperature)));
    const confidence = Math.min(...probs.map((p) => Math.max(p, 1 - p)));
    const top = probs.indexOf(Math.max(...probs));
    const right = scored.perExample[i]! === 1;
    const reason = right ? keepReason(policy, confidence, random) : ('reported' as const);
    if (reason === null || (right && !options.keep)) continue;
    const bytes = new Uint8Array(set.x.slice(i * size, (i + 1) * size).buffer);
    const deviceId = `${prefix}-${i % 25}`;
    const prediction = {
      id: newId(),
      model,
      version,
      deviceId,
      ts: Date.now(),
      type: 'prediction' as const,
      reason,
      input: { dtype: 'float32' as const, shape: [...set.shape], data: Buffer.from(bytes).toString('base64') },
      inputHash: await sha256Hex(bytes),
      output: {
        label: set.labels[top]!,
        confidence,
        topK: [{ label: set.labels[top]!, p: probs[top]! }],
        labels: set.labels.filter((_, j) => probs[j]! >= 0.5),
      },
      engine: 'test',
      latencyMs: 1,
    };
    events.push(prediction);
    if (right) {
      kept++;
      continue;
    }
    wrong++;
    events.push({
      id: newId(),
      model,
      version,
      deviceId,
      ts: Date.now(),
      type: 'correction',
      predictionId: prediction.id,
      labels: labelsOf(i),
    });
  }
  await postEvents(url, events);
  return { reported: wrong, kept };
}

/** The examples `from` … `to − 1`. */
export function slice(set: ExampleSet, from: number, to: number): ExampleSet {
  return pick(
    set,
    [...Array(to - from).keys()].map((i) => i + from),
  );
}
