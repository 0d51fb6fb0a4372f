/**
 * LabelResolver: decides the label of each input that got a new label since the last batch.
 * A reviewer's label wins; otherwise each device has one vote per input (its latest correction), at most
 * `maxLabelsPerDevice` of a device's votes count in one batch, and the label with the most votes wins (a
 * plurality: A:2, B:1, C:1 gives A, though A has no majority). A tie for the most votes has no label and goes to
 * the review queue. Pure and deterministic: the same sources give the same decisions.
 *
 * "New since the last batch" is counted, not dated: an input's sources (corrections and reviews) only ever
 * grow, so an input is pending exactly when it has more sources than the last batch that resolved it saw.
 * A correction committed late, behind later ones, still raises the count; no cursor can skip it.
 */

/** One label for one input: a user's correction event or a reviewer's label. */
export interface LabelSource {
  /** The correction event's id or the review's id. */
  sourceId: string;
  kind: 'correction' | 'review';
  inputHash: string;
  label: string;
  /** The device that sent a correction; null for a review. */
  deviceId: string | null;
  /** Device time of a correction (which of a device's corrections is its latest); review time for a review. */
  ts: number;
  /** Server time the label arrived: orders a device's votes for the cap, since devices cannot forge it. */
  receivedAt: number;
}

export type Outcome = 'reviewed' | 'voted' | 'tie' | 'capped';

/** How a decision used one source (its lineage). */
export type SourceRole = 'review' | 'vote' | 'capped' | 'superseded';

export interface Decision {
  inputHash: string;
  outcome: Outcome;
  /** The resolved label; null for a tie or when every vote was capped. */
  label: string | null;
  /** How many sources the input has now: a batch made from this decision records it as seen. */
  sources: number;
  /** Every source of the input and how it was used. */
  lineage: { sourceId: string; kind: LabelSource['kind']; role: SourceRole }[];
}

export interface Resolution {
  /** One per pending input, sorted by inputHash; golden inputs are left out. */
  decisions: Decision[];
  tiesSentToReview: number;
  /** Votes that did not count because their device had reached its cap. */
  cappedByDevice: number;
  /** Inputs with new labels that are in the golden set, so never trained on. */
  excludedGolden: number;
}

export interface ResolveOptions {
  /** At most this many of one device's votes count in one batch (poisoning). */
  maxLabelsPerDevice: number;
  /** Input hashes of the model's golden set. */
  golden: ReadonlySet<string>;
  /** Per input, the number of sources the last batch that resolved it saw (absent: none). */
  seen: ReadonlyMap<string, number>;
}

import { DEFAULT_MAX_LABELS_PER_DEVICE } from '@edgeloop/protocol';
export { DEFAULT_MAX_LABELS_PER_DEVICE };

const cmpId = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

const enum Role {
  Superseded,
  Review,
  Vote,
  Capped,
}
const ROLE_NAMES: SourceRole[] = ['superseded', 'review', 'vote', 'capped'];

/** Resolves every pending input. Works on indices: a first freeze handles hundreds of thousands of sources. */
export function resolveLabels(sources: readonly LabelSource[], options: ResolveOptions): Resolution {
  const n = sources.length;
  const order = Array.from({ length: n }, (_, i) => i);
  // Stores return sources sorted by inputHash and sourceId; sorting an already sorted list is cheap.
  order.sort(
    (a, b) => cmpId(sources[a]!.inputHash, sources[b]!.inputHash) || cmpId(sources[a]!.sourceId, sources[b]!.sourceId),
  );

  const role = new Uint8Array(n);
  const decided: { decision: Decision; group: number[] }[] = [];
  const voting: { decision: Decision; votes: number[] }[] = [];
  let excludedGolden = 0;

  for (let start = 0; start < n;) {
    const inputHash = sources[order[start]!]!.inputHash;
    let end = start;
    while (end < n && sources[order[end]!]!.inputHash === inputHash) end++;
    const group = order.slice(start, end);
    start = end;
    if (group.length <= (options.seen.get(inputHash) ?? 0)) continue;
    if (options.golden.has(inputHash)) {
      excludedGolden++;
      continue;
    }
    const decision: Decision = { inputHash, outcome: 'voted', label: null, sources: group.length, lineage: [] };
    decided.push({ decision, group });
    let review = -1;
    for (const i of group) {
      const s = sources[i]!;
      if (s.kind !== 'review') continue;
      const r = review < 0 ? undefined : sources[review]!;
      if (!r || s.ts > r.ts || (s.ts === r.ts && s.sourceId > r.sourceId)) review = i;
    }
    if (review >= 0) {
      role[review] = Role.Review;
      decision.outcome = 'reviewed';
      decision.label = sources[review]!.label;
      continue;
    }
    // One vote per device and input: its latest correction (a user may correct their own correction).
    const latest = new Map<string, number>();
    for (const i of group) {
      const s = sources[i]!;
      const key = s.deviceId ?? '';
      const prev = latest.get(key);
      const p = prev === undefined ? undefined : sources[prev]!;
      if (!p || s.ts > p.ts || (s.ts === p.ts && s.sourceId > p.sourceId)) latest.set(key, i);
    }
    voting.push({ decision, votes: [...latest.values()] });
  }

  // The cap runs over the whole batch in arrival order, so a flood counts only its first N votes.
  const perDevice = new Map<string, number[]>();
  for (const { votes } of voting) {
    for (const i of votes) {
      const key = sources[i]!.deviceId ?? '';
      const list = perDevice.get(key);
      if (list) list.push(i);
      else perDevice.set(key, [i]);
    }
  }
  let cappedByDevice = 0;
  for (const list of perDevice.values()) {
    if (list.length > options.maxLabelsPerDevice) {
      list.sort(
        (a, b) => sources[a]!.receivedAt - sources[b]!.receivedAt || cmpId(sources[a]!.sourceId, sources[b]!.sourceId),
      );
    }
    list.forEach((i, k) => {
      const counts = k < options.maxLabelsPerDevice;
      role[i] = counts ? Role.Vote : Role.Capped;
      if (!counts) cappedByDevice++;
    });
  }

  let tiesSentToReview = 0;
  for (const { decision, votes } of voting) {
    const tally = new Map<string, number>();
    for (const i of votes)
      if (role[i] === Role.Vote) tally.set(sources[i]!.label, (tally.get(sources[i]!.label) ?? 0) + 1);
    let first: [string, number] | undefined;
    let tie = false;
    for (const entry of tally) {
      if (!first || entry[1] > first[1]) {
        first = entry;
        tie = false;
      } else if (entry[1] === first[1]) tie = true;
    }
    if (!first) decision.outcome = 'capped';
    else if (tie) {
      decision.outcome = 'tie';
      tiesSentToReview++;
    } else decision.label = first[0];
  }

  for (const { decision, group } of decided) {
    for (const i of group)
      decision.lineage.push({ sourceId: sources[i]!.sourceId, kind: sources[i]!.kind, role: ROLE_NAMES[role[i]!]! });
  }
  return { decisions: decided.map((d) => d.decision), tiesSentToReview, cappedByDevice, excludedGolden };
}
