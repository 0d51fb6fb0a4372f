/** Streams a batch's NDJSON export page by page, so a large batch never sits in memory or holds a connection. */
import { Readable } from 'node:stream';
import type { BatchStore } from './store.js';

const PAGE = 1000;

/** The batch's export lines in order, read `PAGE` lines at a time by position. */
export function exampleStream(batches: BatchStore, id: string): Readable {
  async function* lines() {
    let after = -1;
    for (;;) {
      const page = await batches.lines(id, after, PAGE);
      if (page.length === 0) return;
      yield page.map((l) => l.line).join('');
      after = page[page.length - 1]!.ord;
      if (page.length < PAGE) return;
    }
  }
  return Readable.from(lines(), { objectMode: false });
}
