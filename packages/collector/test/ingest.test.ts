import { describe, test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import type { App } from '@edgeloop/collector';
import { MAX_BODY_BYTES, type Event } from '@edgeloop/protocol';
import { makeApp, bearer, KEYS, STORE_KINDS } from './helpers/stores.js';
import { prediction, predictions, correction, errorEvent } from './helpers/events.js';

const post = (app: App, body: unknown, headers: Record<string, string> = {}, url = '/v1/events') =>
  app.inject({
    method: 'POST',
    url,
    headers: { 'content-type': 'application/json', ...bearer(KEYS.ingest), ...headers },
    payload: typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body),
  });

/** A JSON body of exactly `size` bytes holding `events` (JSON allows trailing whitespace). */
function bodyOfSize(events: Event[], size: number): string {
  const json = JSON.stringify({ events });
  assert.ok(json.length <= size, 'events too large for the requested size');
  return json + ' '.repeat(size - Buffer.byteLength(json));
}

for (const kind of STORE_KINDS) {
  describe(`ingest (${kind})`, () => {
    let app: App;
    let close: () => Promise<void>;
    before(async () => ({ app, close } = await makeApp(kind)));
    after(() => close());

    test('stores a batch of every event type and acks with counts', async () => {
      const events: Event[] = [prediction(), errorEvent()];
      events.push(correction(events[0]!.id, '3', { comment: 'it is a 3' }));
      const r = await post(app, { events });
      assert.equal(r.statusCode, 200, r.body);
      assert.deepEqual(r.json(), { accepted: 3, duplicates: 0, rejected: [] });
      for (const e of events) assert.deepEqual(await app.storage.events.get(e.id), e);
    });

    test('the same batch sent twice after a lost ack gets two 200s and one row per id', async () => {
      const events = predictions(20, { model: 'resend' });
      const first = await post(app, { events });
      const second = await post(app, { events });
      assert.equal(first.statusCode, 200);
      assert.equal(second.statusCode, 200);
      assert.deepEqual(first.json(), { accepted: 20, duplicates: 0, rejected: [] });
      assert.deepEqual(second.json(), { accepted: 20, duplicates: 20, rejected: [] });
      assert.equal(await app.storage.events.count({ model: 'resend' }), 20);
    });

    test('a duplicate id inside one request is stored once', async () => {
      const e = prediction({ model: 'dup-inside' });
      const r = await post(app, { events: [e, e] });
      assert.deepEqual(r.json(), { accepted: 2, duplicates: 1, rejected: [] });
      assert.equal(await app.storage.events.count({ model: 'dup-inside' }), 1);
    });

    test('a partial batch stores the good events and lists the bad ones by index', async () => {
      const good = predictions(3, { model: 'partial' });
      const items = [
        good[0],
        { ...prediction({ model: 'partial' }), extra: 1 },
        good[1],
        'not an event',
        null,
        { ...prediction({ model: 'partial' }), ts: '1700000000000' },
        good[2],
      ];
      const r = await post(app, { events: items });
      assert.equal(r.statusCode, 200, r.body);
      const body = r.json();
      assert.equal(body.accepted, 3);
      assert.deepEqual(
        body.rejected.map((x: { index: number }) => x.index),
        [1, 3, 4, 5],
      );
      for (const x of body.rejected) {
        assert.equal(x.code, 'EL_INVALID_EVENT');
        assert.match(x.message, /^Invalid event: /);
      }
      assert.equal(await app.storage.events.count({ model: 'partial' }), 3);
    });

    test('types are never coerced: a numeric string is rejected, not converted', async () => {
      const e = { ...prediction({ model: 'coerce' }), output: { label: '1', confidence: '0.5', topK: [] } };
      const r = await post(app, { events: [e] });
      assert.equal(r.json().rejected.length, 1);
      assert.equal(await app.storage.events.count({ model: 'coerce' }), 0);
    });

    test('an empty batch is a 200 with nothing stored', async () => {
      const r = await post(app, { events: [] });
      assert.deepEqual(r.json(), { accepted: 0, duplicates: 0, rejected: [] });
    });

    test('a body of exactly 1 MiB is accepted and one byte more is refused with 413', async () => {
      const at = bodyOfSize(predictions(5, { model: 'limit' }), MAX_BODY_BYTES);
      const ok = await post(app, at);
      assert.equal(ok.statusCode, 200, ok.body);
      const over = await post(app, bodyOfSize(predictions(5, { model: 'limit' }), MAX_BODY_BYTES + 1));
      assert.equal(over.statusCode, 413);
      assert.equal(over.json().code, 'EL_BODY_TOO_LARGE');
      assert.equal(await app.storage.events.count({ model: 'limit' }), 5);
    });

    test('the limit applies to the decoded gzip body: exactly 1 MiB passes, one byte more is refused', async () => {
      const at = gzipSync(bodyOfSize(predictions(5, { model: 'gzlimit' }), MAX_BODY_BYTES));
      const ok = await post(app, at, { 'content-encoding': 'gzip' });
      assert.equal(ok.statusCode, 200, ok.body);
      const over = await post(app, gzipSync(bodyOfSize(predictions(5, { model: 'gzlimit' }), MAX_BODY_BYTES + 1)), {
        'content-encoding': 'gzip',
      });
      assert.equal(over.statusCode, 413);
      assert.equal(over.json().code, 'EL_BODY_TOO_LARGE');
      assert.equal(await app.storage.events.count({ model: 'gzlimit' }), 5);
    });

    test('500 events are accepted and 501 are refused with 413', async () => {
      const ok = await post(app, { events: predictions(500, { model: 'count' }) });
      assert.equal(ok.statusCode, 200);
      assert.equal(ok.json().accepted, 500);
      const over = await post(app, { events: predictions(501, { model: 'count' }) });
      assert.equal(over.statusCode, 413);
      assert.equal(over.json().code, 'EL_TOO_MANY_EVENTS');
      assert.equal(await app.storage.events.count({ model: 'count' }), 500);
    });

    test('a gzip body is accepted', async () => {
      const events = predictions(50, { model: 'gzip' });
      const r = await post(app, gzipSync(JSON.stringify({ events })), { 'content-encoding': 'gzip' });
      assert.equal(r.statusCode, 200, r.body);
      assert.equal(r.json().accepted, 50);
      assert.equal(await app.storage.events.count({ model: 'gzip' }), 50);
    });

    test('a gzip bomb is refused with 413 without being inflated', async () => {
      // 64 MiB of whitespace inside valid JSON compresses to about 64 KiB.
      const bomb = gzipSync(
        Buffer.concat([Buffer.from('{"events":['), Buffer.alloc(64 * 2 ** 20, 0x20), Buffer.from(']}')]),
        { level: 9 },
      );
      assert.ok(bomb.length < MAX_BODY_BYTES / 8);
      const r = await post(app, bomb, { 'content-encoding': 'gzip' });
      assert.equal(r.statusCode, 413);
      assert.equal(r.json().code, 'EL_BODY_TOO_LARGE');
    });

    test('an invalid gzip body is refused with 400', async () => {
      const r = await post(app, Buffer.from('this is not gzip at all'), { 'content-encoding': 'gzip' });
      assert.equal(r.statusCode, 400);
      assert.equal(r.json().code, 'EL_BAD_GZIP');
      const truncated = gzipSync(JSON.stringify({ events: predictions(3) })).subarray(0, 30);
      const r2 = await post(app, truncated, { 'content-encoding': 'gzip' });
      assert.equal(r2.statusCode, 400);
      assert.equal(r2.json().code, 'EL_BAD_GZIP');
    });

    test('an unsupported Content-Encoding is refused with 415', async () => {
      const r = await post(app, JSON.stringify({ events: [] }), { 'content-encoding': 'br' });
      assert.equal(r.statusCode, 415);
      assert.equal(r.json().code, 'EL_UNSUPPORTED_ENCODING');
    });

    test('invalid UTF-8 is refused with 400 and nothing is stored', async () => {
      const e = errorEvent({ model: 'utf8', message: 'XX' });
      const bytes = Buffer.from(JSON.stringify({ events: [e] }));
      const at = bytes.indexOf('XX');
      bytes[at] = 0xc3; // a lead byte followed by ASCII: an invalid sequence
      bytes[at + 1] = 0x28;
      const r = await post(app, bytes);
      assert.equal(r.statusCode, 400);
      assert.equal(r.json().code, 'EL_INVALID_BODY');
      assert.match(r.json().message, /UTF-8/);
      assert.equal(await app.storage.events.count({ model: 'utf8' }), 0);
    });

    test('an event with a lone surrogate is rejected alone; a valid surrogate pair is stored intact', async () => {
      const lone = errorEvent({ model: 'surrogate', message: 'LONE' });
      const pair = errorEvent({ model: 'surrogate', message: 'PAIR' });
      const body = JSON.stringify({ events: [lone, pair] })
        .replace('LONE', 'a\\ud800b')
        .replace('PAIR', 'smile \\ud83d\\ude00');
      const r = await post(app, body);
      assert.equal(r.statusCode, 200, r.body);
      assert.equal(r.json().accepted, 1);
      assert.deepEqual(
        r.json().rejected.map((x: { index: number; code: string }) => [x.index, x.code]),
        [[0, 'EL_INVALID_EVENT']],
      );
      const stored = await app.storage.events.get(pair.id);
      assert.equal(stored?.type === 'error' && stored.message, 'smile \u{1F600}');
      assert.equal(await app.storage.events.get(lone.id), undefined);
    });

    test('an event with U+0000 in a string is rejected alone (PostgreSQL text cannot hold it)', async () => {
      const nul = prediction({ model: 'nul', output: { label: 'a\u0000b', confidence: 0.5, topK: [] } });
      const ok = errorEvent({ model: 'nul' });
      const r = await post(app, { events: [nul, ok] });
      assert.equal(r.statusCode, 200, r.body);
      assert.equal(r.json().accepted, 1);
      assert.deepEqual(
        r.json().rejected.map((x: { index: number; code: string }) => [x.index, x.code]),
        [[0, 'EL_INVALID_EVENT']],
      );
      assert.equal(await app.storage.events.count({ model: 'nul' }), 1);
    });

    test('__proto__ and constructor.prototype keys are refused with 400 and nothing is stored', async () => {
      const e = errorEvent({ model: 'proto' });
      const withProto = JSON.stringify({ events: [e] }).replace('{"id"', '{"__proto__":{"admin":true},"id"');
      const r = await post(app, withProto);
      assert.equal(r.statusCode, 400);
      assert.equal(r.json().code, 'EL_INVALID_BODY');
      const top = await post(app, `{"__proto__":{"x":1},"events":[${JSON.stringify(e)}]}`);
      assert.equal(top.statusCode, 400);
      const ctor = await post(app, `{"events":[${JSON.stringify(e)}],"constructor":{"prototype":{"x":1}}}`);
      assert.equal(ctor.statusCode, 400);
      assert.equal(ctor.json().code, 'EL_INVALID_BODY');
      assert.equal(await app.storage.events.count({ model: 'proto' }), 0);
      // A plain unknown "constructor" key inside an event is just an unknown property: that event alone is rejected.
      const plain = await post(app, { events: [{ ...errorEvent({ model: 'proto' }), constructor: 'x' }] });
      assert.equal(plain.statusCode, 200);
      assert.equal(plain.json().rejected.length, 1);
    });

    test('a wrong Content-Length is refused with 400 and nothing is stored', async () => {
      const body = JSON.stringify({ events: [errorEvent({ model: 'length' })] });
      const longer = await post(app, body, { 'content-length': String(body.length + 10) });
      assert.equal(longer.statusCode, 400);
      assert.equal(longer.json().code, 'EL_INVALID_BODY');
      const shorter = await post(app, body, { 'content-length': String(body.length - 5) });
      assert.equal(shorter.statusCode, 400);
      assert.equal(await app.storage.events.count({ model: 'length' }), 0);
    });

    test('malformed JSON, a missing events array and unknown top-level fields are refused with 400', async () => {
      for (const body of ['{"events": [', '[]', '{"events": {}}', '{"events": [], "more": 1}', '{}', '']) {
        const r = await post(app, body);
        assert.equal(r.statusCode, 400, `${body} → ${r.body}`);
        assert.equal(r.json().code, 'EL_INVALID_BODY');
      }
    });

    test('SQL and HTML in strings are stored literally', async () => {
      const nasty = [
        "'); DROP TABLE events; --",
        '<script>alert(1)</script><img src=x onerror=alert(2)>',
        'Robert"); DELETE FROM api_keys WHERE ("1"="1',
        'backslash \\ and $1 placeholder and %s and \\u0000 as text',
      ];
      const events = nasty.map((message) => errorEvent({ model: 'literal', message, code: '<b>x</b>' }));
      const r = await post(app, { events });
      assert.equal(r.statusCode, 200, r.body);
      for (const e of events) assert.deepEqual(await app.storage.events.get(e.id), e);
      assert.equal(await app.storage.events.count({ model: 'literal' }), nasty.length);
      assert.ok((await app.storage.keys.list()).length >= 3, 'api_keys untouched');
    });

    test('a text/plain body with the key in ?key= is accepted (unload-time sends)', async () => {
      const events = predictions(3, { model: 'plain' });
      const r = await app.inject({
        method: 'POST',
        url: `/v1/events?key=${encodeURIComponent(KEYS.ingest)}`,
        headers: { 'content-type': 'text/plain;charset=UTF-8' },
        payload: JSON.stringify({ events }),
      });
      assert.equal(r.statusCode, 200, r.body);
      assert.equal(await app.storage.events.count({ model: 'plain' }), 3);
    });

    test('a charset other than UTF-8 or an unknown content type is refused with 415', async () => {
      const latin = await post(app, JSON.stringify({ events: [] }), {
        'content-type': 'text/plain; charset=iso-8859-1',
      });
      assert.equal(latin.statusCode, 415);
      assert.equal(latin.json().code, 'EL_UNSUPPORTED_MEDIA_TYPE');
      const form = await post(app, 'events=1', { 'content-type': 'application/x-www-form-urlencoded' });
      assert.equal(form.statusCode, 415);
      assert.equal(form.json().code, 'EL_UNSUPPORTED_MEDIA_TYPE');
    });

    test('wrong or mixed keys are refused with 401', async () => {
      const body = JSON.stringify({ events: [errorEvent({ model: 'keys' })] });
      const cases: [string, Record<string, string>, string][] = [
        ['no key', {}, '/v1/events'],
        ['unknown key', bearer('not-a-real-key-0000000000000000'), '/v1/events'],
        [
          'Basic scheme',
          { authorization: `Basic ${Buffer.from(`x:${KEYS.ingest}`).toString('base64')}` },
          '/v1/events',
        ],
        ['header and query disagree', bearer(KEYS.ingest), `/v1/events?key=${KEYS.trainer}`],
        ['two query keys', {}, `/v1/events?key=${KEYS.ingest}&key=${KEYS.ingest}`],
        ['empty bearer', { authorization: 'Bearer ' }, '/v1/events'],
      ];
      for (const [name, headers, url] of cases) {
        const r = await app.inject({
          method: 'POST',
          url,
          headers: { 'content-type': 'application/json', ...headers },
          payload: body,
        });
        assert.equal(r.statusCode, 401, `${name}: ${r.body}`);
        assert.equal(r.json().code, 'EL_UNAUTHORIZED', name);
      }
      const same = await app.inject({
        method: 'POST',
        url: `/v1/events?key=${KEYS.ingest}`,
        headers: { 'content-type': 'application/json', ...bearer(KEYS.ingest) },
        payload: body,
      });
      assert.equal(same.statusCode, 200, 'the same key in header and query is fine');
      const lower = await app.inject({
        method: 'POST',
        url: '/v1/events',
        headers: { 'content-type': 'application/json', authorization: `bearer ${KEYS.trainer}` },
        payload: JSON.stringify({ events: [] }),
      });
      assert.equal(lower.statusCode, 200, 'the auth scheme is case-insensitive and trainer keys may ingest');
    });
  });
}
