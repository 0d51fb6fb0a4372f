/** Labeled batches on both stores: content and hash, immutability, "since the last one", lineage, export. */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import Database from 'better-sqlite3';
import pg from 'pg';
import { Example } from '@edgeloop/protocol';
import Value from 'typebox/value';
import type { App } from '@edgeloop/collector';
import { bearer, KEYS, makeApp, PG_URL, STORE_KINDS, type TestStore } from './helpers/stores.js';
import {
  correction,
  examplesOf,
  freeze,
  labeled,
  makeInput,
  MODEL,
  prediction,
  sha256,
  store,
} from './helpers/labels.js';
import { splitOf } from '@edgeloop/collector/internal';

/** Runs one statement on the store's database behind the app's back. */
async function rawSql(s: TestStore, sql: string): Promise<void> {
  if ('sqlite' in s.options) {
    const db = new Database(s.options.sqlite.path);
    try {
      db.exec(sql);
    } finally {
      db.close();
    }
    return;
  }
  const client = new pg.Client({ connectionString: PG_URL, options: `-c search_path=${s.options.postgres.schema}` });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

const shas: Record<string, string> = {};

for (const kind of STORE_KINDS) {
  describe(`labeled batches (${kind})`, () => {
    let app: App;
    let testStore: TestStore;
    let close: () => Promise<void>;
    before(async () => ({ app, store: testStore, close } = await makeApp(kind)));
    after(() => close());

    let first: { id: string; sha256: string; counts: Record<string, number> };

    test('freezing with nothing labeled is a 409 with a clear code', async () => {
      await store(app, prediction({ seed: 1, reason: 'sample' }));
      const r = await freeze(app);
      assert.equal(r.statusCode, 409);
      assert.equal(r.json().code, 'EL_EMPTY_BATCH');
      assert.match(r.json().message, /Nothing labeled since the last batch/);
    });

    test('the export is NDJSON of valid examples whose sha256 is the batch sha256', async () => {
      for (let seed = 10; seed < 40; seed++) await labeled(app, seed, { a: String(seed % 3), b: String(seed % 3) });
      const r = await freeze(app);
      assert.equal(r.statusCode, 201, r.body);
      first = r.json();
      assert.equal(first.counts.examples, 30);
      const res = await app.inject({
        method: 'GET',
        url: `/v1/batches/${first.id}/examples`,
        headers: bearer(KEYS.trainer),
      });
      assert.equal(res.statusCode, 200);
      assert.match(String(res.headers['content-type']), /^application\/x-ndjson/);
      assert.equal(res.headers.etag, `"${first.sha256}"`);
      assert.equal(sha256(res.body), first.sha256);
      const lines = res.body
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l));
      assert.equal(lines.length, 30);
      const hashes = lines.map((l) => l.inputHash);
      assert.deepEqual(hashes, [...hashes].sort(), 'sorted by inputHash');
      for (const line of lines) {
        assert.ok(Value.Check(Example, line), JSON.stringify(line));
        assert.equal(sha256Bytes(line.input.data), line.inputHash, 'the input bytes are the hashed input');
        assert.equal(line.split, splitOf(line.inputHash));
      }
      shas[kind] = first.sha256;
      const again = await app.inject({
        method: 'GET',
        url: `/v1/batches/${first.id}/examples`,
        headers: { ...bearer(KEYS.trainer), 'if-none-match': `"${first.sha256}"` },
      });
      assert.equal(again.statusCode, 304);
    });

    test('the examples export honours If-None-Match lists, weak tags and *, like manifests and artifacts', async () => {
      const tag = `"${first.sha256}"`;
      const get = (inm: string) =>
        app.inject({
          method: 'GET',
          url: `/v1/batches/${first.id}/examples`,
          headers: { ...bearer(KEYS.trainer), 'if-none-match': inm },
        });
      for (const inm of [`W/${tag}`, `"other", ${tag}`, `"other",W/${tag}`, '*']) {
        const r = await get(inm);
        assert.equal(r.statusCode, 304, inm);
        assert.equal(r.headers.etag, tag);
      }
      assert.equal((await get('"other"')).statusCode, 200);
    });

    test('the same labels give the same sha256 on either store', () => {
      assert.ok(shas[kind]);
      const other = Object.entries(shas).find(([k]) => k !== kind);
      if (other) assert.equal(shas[kind], other[1]);
    });

    test('the split is deterministic from the input and about 90/10', () => {
      let val = 0;
      for (let seed = 0; seed < 5000; seed++) {
        const { inputHash } = makeInput(seed);
        assert.equal(splitOf(inputHash), splitOf(inputHash));
        if (splitOf(inputHash) === 'val') val++;
      }
      assert.ok(val > 400 && val < 600, `${val} of 5000 in val`);
    });

    test('a batch takes only what was labeled since the last one and never changes', async () => {
      await labeled(app, 50, { a: '1' });
      const r = await freeze(app);
      assert.equal(r.statusCode, 201);
      const second = r.json();
      assert.equal(second.counts.examples, 1);
      assert.equal((await examplesOf(app, second.id)).lines[0]!.inputHash, makeInput(50).inputHash);
      const firstAgain = await app.inject({
        method: 'GET',
        url: `/v1/batches/${first.id}`,
        headers: bearer(KEYS.trainer),
      });
      assert.deepEqual(firstAgain.json(), first);
      assert.equal(sha256((await examplesOf(app, first.id)).body), first.sha256);
      const list = await app.inject({
        method: 'GET',
        url: `/v1/models/${MODEL}/batches`,
        headers: bearer(KEYS.trainer),
      });
      assert.deepEqual(
        list.json().map((b: { id: string }) => b.id),
        [first.id, second.id],
      );
    });

    test('the database refuses to change a stored batch', async () => {
      await assert.rejects(rawSql(testStore, `UPDATE batches SET sha256 = 'x' WHERE id = '${first.id}'`), /immutable/);
      await assert.rejects(rawSql(testStore, `DELETE FROM batch_examples WHERE batch_id = '${first.id}'`), /immutable/);
      assert.equal(sha256((await examplesOf(app, first.id)).body), first.sha256);
    });

    test('a new correction of an input already in a batch re-resolves it with its whole history', async () => {
      // Input 10 was labeled "1" by a and b; one more vote for "2" does not overturn that.
      const p = prediction({ seed: 10 });
      await store(app, p, correction(p, '2', 'c'));
      const batch = (await freeze(app)).json();
      const lines = (await examplesOf(app, batch.id)).lines;
      assert.equal(lines.length, 1);
      assert.equal(lines[0]!.label, '1');
    });

    test('a batch knows the events it came from', async () => {
      const p = await labeled(app, 60, { a: '5', b: '5' });
      const batch = (await freeze(app)).json();
      const r = await app.inject({
        method: 'GET',
        url: `/v1/batches/${batch.id}/lineage`,
        headers: bearer(KEYS.trainer),
      });
      assert.equal(r.statusCode, 200);
      const sources = r.json().sources as { eventId: string; kind: string; role: string }[];
      assert.deepEqual(
        sources.filter((s) => s.kind === 'correction').map((s) => s.role),
        ['vote', 'vote'],
      );
      assert.deepEqual(
        sources.filter((s) => s.kind === 'input').map((s) => s.eventId),
        [p.id],
      );
    });

    test('inputs that were never uploaded are counted, not trained on', async () => {
      await labeled(app, 70, { a: '7' }, { withInput: false });
      await labeled(app, 71, { a: '7' });
      const batch = (await freeze(app)).json();
      assert.equal(batch.counts.examples, 1);
      assert.equal(batch.counts.withoutInput, 1);
    });

    test('forged input bytes are not trained on', async () => {
      const p = prediction({ seed: 72 });
      const forged = { ...p, input: makeInput(73).input };
      await store(app, forged, correction(forged, '9', 'a'));
      const r = await freeze(app);
      assert.equal(r.statusCode, 409, 'the only labeled input has bytes that do not match its hash');
    });

    test('a correction that arrives before its prediction waits for it', async () => {
      const p = prediction({ seed: 80 });
      await store(app, correction(p, '4', 'a'));
      assert.equal((await freeze(app)).statusCode, 409);
      await store(app, p);
      const batch = (await freeze(app)).json();
      assert.equal((await examplesOf(app, batch.id)).lines[0]?.inputHash, p.inputHash);
    });

    test('an unknown batch is a 404', async () => {
      const r = await app.inject({ method: 'GET', url: '/v1/batches/nope/examples', headers: bearer(KEYS.trainer) });
      assert.equal(r.statusCode, 404);
      assert.equal(r.json().code, 'EL_NOT_FOUND');
    });

    if (kind === 'postgres') {
      test('a correction committed late, behind a later one, is not skipped', async () => {
        const { schema } = (testStore.options as { postgres: { schema: string } }).postgres;
        const late = prediction({ seed: 90 });
        await store(app, late);
        // Take a sequence number now but commit after a later event and after a freeze.
        const client = new pg.Client({ connectionString: PG_URL, options: `-c search_path=${schema}` });
        await client.connect();
        try {
          await client.query('BEGIN');
          const c = correction(late, '3', 'slow');
          await client.query(
            `INSERT INTO events (id, model, version, device_id, type, ts, received_at, prediction_id, label, body, part_ms)
             VALUES ($1, $2, 'v1', 'slow', 'correction', $3, $3, $4, '3', $5, events_part_ms($1))`,
            [c.id, MODEL, c.ts, late.id, JSON.stringify(c)],
          );
          await labeled(app, 91, { fast: '6' });
          const batch = (await freeze(app)).json();
          assert.deepEqual(
            (await examplesOf(app, batch.id)).lines.map((l) => l.inputHash),
            [makeInput(91).inputHash],
          );
          await client.query('COMMIT');
        } finally {
          await client.end();
        }
        const next = (await freeze(app)).json();
        assert.deepEqual(
          (await examplesOf(app, next.id)).lines.map((l) => l.inputHash),
          [late.inputHash],
        );
      });

      test('concurrent freezes never put a label in two batches', async () => {
        for (let seed = 500; seed < 540; seed++) await labeled(app, seed, { a: '1' });
        const results = await Promise.all([freeze(app), freeze(app), freeze(app)]);
        const made = results.filter((r) => r.statusCode === 201).map((r) => r.json());
        assert.equal(made.length, 1, results.map((r) => r.statusCode).join(','));
        assert.equal(made[0].counts.examples, 40);
      });
    }
  });
}

function sha256Bytes(base64: string): string {
  return createHash('sha256').update(Buffer.from(base64, 'base64')).digest('hex');
}
