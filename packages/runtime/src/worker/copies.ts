// Worker mode only: loaded with the worker client.
import type { StatsEvent } from '@edgeloop/protocol';
import { StatsWindow, statsEvent, type WindowTag } from '../stats.js';

/**
 * The page's copies of the worker's open stats windows (worker mode), counted from the results the page receives,
 * each tagged with the window the worker counted it in. At `pagehide` they go out with the unload send, in case
 * the worker is gone before it can close its window, under the ids the worker gives the same windows: a window is
 * counted once whoever sends it first, and a result that crosses the worker's "window closed" message is counted
 * in the window the worker counted it in.
 */
export class WindowCopies {
  /** The last window the worker closed (and sent itself). */
  #closed = -1;
  readonly #open = new Map<number, StatsWindow>();

  #window(tag: WindowTag): StatsWindow | null {
    if (tag.seq <= this.#closed) return null;
    let w = this.#open.get(tag.seq);
    if (!w) this.#open.set(tag.seq, (w = new StatsWindow(tag.from)));
    return w;
  }

  prediction(
    tag: WindowTag,
    version: string,
    latencyMs: number,
    confidence: number,
    label: string,
    low: boolean,
  ): void {
    this.#window(tag)?.prediction(version, latencyMs, confidence, label, low);
  }

  correction(tag: WindowTag, version: string): void {
    this.#window(tag)?.correction(version);
  }

  error(tag: WindowTag, version: string): void {
    this.#window(tag)?.error(version);
  }

  /** The worker closed window `seq` and sent it. */
  closed(seq: number): void {
    this.#closed = Math.max(this.#closed, seq);
    for (const k of this.#open.keys()) if (k <= seq) this.#open.delete(k);
  }

  /** At `pagehide`: the windows the worker has not closed, as stats events. */
  close(now: number, token: string, model: string, deviceId: string): StatsEvent[] {
    const events: StatsEvent[] = [];
    for (const [seq, w] of this.#open)
      for (const body of w.close(now)) events.push(statsEvent(body, seq, token, model, deviceId, now));
    this.#open.clear();
    return events;
  }
}
