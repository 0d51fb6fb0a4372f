/**
 * LabelResolver: decides the label of each input that got a new label since the last batch.
 * A reviewer's label wins; otherwise each device has one vote per input (its latest correction), at most
 * `maxLabelsPerDevice` of a device's votes count in one batch, and a strict majority decides. A tie has no
 * label and goes to the review queue. Pure and deterministic: the same sources give the same decisions.
 */

/** One label for one input: a user's correction event or a reviewer's label. */
export interface LabelSource {
  /** The correction event's id or the review's id; a batch consumes each source at most once. */
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
  /** Already used by an earlier batch. */
  consumed: boolean;
}

export type Outcome = 'reviewed' | 'voted' | 'tie' | 'capped';

/** How a batch used one source (its lineage). */
export type SourceRole = 'review' | 'vote' | 'capped' | 'superseded';

export interface Decision {
  inputHash: string;
  outcome: Outcome;
  /** The resolved label; null for a tie or when every vote was capped. */
  label: string | null;
}

export interface SourceUse {
  sourceId: string;
  kind: LabelSource['kind'];
  inputHash: string;
  role: SourceRole;
}

export interface Resolution {
  /** One per input that had an unconsumed source, sorted by inputHash; golden inputs are left out. */
  decisions: Decision[];
  /** Every unconsumed source of a decided input: what a batch made from these decisions consumes. */
  uses: SourceUse[];
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
}

export const DEFAULT_MAX_LABELS_PER_DEVICE = 50;

const byTime = (a: { ts: number; sourceId: string }, b: { ts: number; sourceId: string }) => a.ts - b.ts || (a.sourceId < b.sourceId ? -1 : a.sourceId > b.sourceId ? 1 : 0);
const byArrival = (a: LabelSource, b: LabelSource) =>
  a.receivedAt - b.receivedAt || (a.sourceId < b.sourceId ? -1 : a.sourceId > b.sourceId ? 1 : 0);

/** Resolves the label of every input that has an unconsumed source; `sources` holds all sources of those inputs. */
export function resolveLabels(sources: readonly LabelSource[], options: ResolveOptions): Resolution {
  const byInput = new Map<string, LabelSource[]>();
  for (const s of sources) {
    let list = byInput.get(s.inputHash);
    if (!list) byInput.set(s.inputHash, (list = []));
    list.push(s);
  }

  const role = new Map<string, SourceRole>();
  const outcome = new Map<string, Decision>();
  const voting: { inputHash: string; votes: LabelSource[] }[] = [];
  let excludedGolden = 0;

  for (const [inputHash, list] of [...byInput].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (!list.some((s) => !s.consumed)) continue;
    if (options.golden.has(inputHash)) {
      excludedGolden++;
      continue;
    }
    const reviews = list.filter((s) => s.kind === 'review').sort(byTime);
    const corrections = list.filter((s) => s.kind === 'correction');
    if (reviews.length > 0) {
      const winner = reviews[reviews.length - 1]!;
      for (const s of list) role.set(s.sourceId, s === winner ? 'review' : 'superseded');
      outcome.set(inputHash, { inputHash, outcome: 'reviewed', label: winner.label });
      continue;
    }
    // One vote per device and input: its latest correction (a user may correct their own correction).
    const latest = new Map<string, LabelSource>();
    for (const c of corrections.sort(byTime)) latest.set(c.deviceId ?? '', c);
    for (const c of corrections) role.set(c.sourceId, 'superseded');
    voting.push({ inputHash, votes: [...latest.values()] });
  }

  // The cap runs over the whole batch in arrival order, so a flood counts only its first N votes.
  const perDevice = new Map<string, LabelSource[]>();
  for (const { votes } of voting) {
    for (const v of votes) {
      const key = v.deviceId ?? '';
      let list = perDevice.get(key);
      if (!list) perDevice.set(key, (list = []));
      list.push(v);
    }
  }
  let cappedByDevice = 0;
  for (const list of perDevice.values()) {
    list.sort(byArrival);
    list.forEach((v, i) => {
      const counts = i < options.maxLabelsPerDevice;
      role.set(v.sourceId, counts ? 'vote' : 'capped');
      if (!counts) cappedByDevice++;
    });
  }

  let tiesSentToReview = 0;
  for (const { inputHash, votes } of voting) {
    const tally = new Map<string, number>();
    for (const v of votes) if (role.get(v.sourceId) === 'vote') tally.set(v.label, (tally.get(v.label) ?? 0) + 1);
    const ranked = [...tally].sort((a, b) => b[1] - a[1]);
    const [first, second] = ranked;
    if (!first) outcome.set(inputHash, { inputHash, outcome: 'capped', label: null });
    else if (second && second[1] === first[1]) {
      outcome.set(inputHash, { inputHash, outcome: 'tie', label: null });
      tiesSentToReview++;
    } else outcome.set(inputHash, { inputHash, outcome: 'voted', label: first[0] });
  }

  const decisions = [...outcome.values()].sort((a, b) => (a.inputHash < b.inputHash ? -1 : 1));
  const uses: SourceUse[] = [];
  for (const d of decisions) {
    for (const s of byInput.get(d.inputHash)!) {
      if (!s.consumed) uses.push({ sourceId: s.sourceId, kind: s.kind, inputHash: s.inputHash, role: role.get(s.sourceId) ?? 'superseded' });
    }
  }
  return { decisions, uses, tiesSentToReview, cappedByDevice, excludedGolden };
}
