/** call(spec, args): paths, queries and bodies from the spec, typed answers, and ApiError with the collector's code. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError, call, getBatchExamples, getPendingLabels, pathOf, putGolden, putRollout } from '@edgeloop/protocol';

type Sent = { url: string; init: RequestInit };
function fakeFetch(answer: Response, sent: Sent[]): typeof fetch {
  return (async (url: string | URL | Request, init?: RequestInit) => {
    sent.push({ url: String(url), init: init ?? {} });
    return answer;
  }) as typeof fetch;
}

test('params are URL-encoded into the path and the query is appended', () => {
  assert.equal(pathOf(getBatchExamples, { id: 'a/b c' }), '/v1/batches/a%2Fb%20c/examples');
  assert.equal(
    pathOf(getPendingLabels, { model: 'digits' }, { maxLabelsPerDevice: 5, other: undefined }),
    '/v1/models/digits/labels/pending?maxLabelsPerDevice=5',
  );
  assert.throws(() => pathOf(getBatchExamples, {}), /params\.id is missing/);
});

test('a JSON body is sent with its content type and the key as a bearer token; the answer is parsed', async () => {
  const sent: Sent[] = [];
  const rollout = { stable: 'v1', canary: null, canaryPercent: 0, auto: null };
  const answer = await call(putRollout, {
    baseUrl: 'http://c',
    key: 'k',
    params: { model: 'm' },
    body: rollout,
    fetch: fakeFetch(Response.json(rollout), sent),
  });
  assert.deepEqual(answer, rollout);
  assert.equal(sent[0]!.url, 'http://c/v1/models/m/rollout');
  assert.equal(sent[0]!.init.method, 'PUT');
  assert.equal((sent[0]!.init.headers as Record<string, string>).authorization, 'Bearer k');
  assert.equal((sent[0]!.init.headers as Record<string, string>)['content-type'], 'application/json');
  assert.equal(sent[0]!.init.body, JSON.stringify(rollout));
});

test("NDJSON bodies and answers are lines of the spec's schema", async () => {
  const sent: Sent[] = [];
  const example = {
    inputHash: 'a'.repeat(64),
    input: { dtype: 'uint8' as const, shape: [1], data: 'AA==' },
    label: '1',
    split: 'golden' as const,
  };
  await call(putGolden, {
    params: { model: 'm' },
    body: [example, example],
    fetch: fakeFetch(Response.json({}), sent),
  });
  assert.equal((sent[0]!.init.headers as Record<string, string>)['content-type'], 'application/x-ndjson');
  assert.equal(sent[0]!.init.body, `${JSON.stringify(example)}\n${JSON.stringify(example)}\n`);
  const lines = await call(getBatchExamples, {
    params: { id: 'b' },
    fetch: fakeFetch(new Response(`${JSON.stringify(example)}\n\n`), []),
  });
  assert.deepEqual(lines, [example]);
});

test('an error answer throws ApiError with the status, the stable code and the message', async () => {
  const body = { statusCode: 409, code: 'EL_EMPTY_BATCH', error: 'Conflict', message: 'Nothing labeled' };
  const err = await call(getPendingLabels, {
    params: { model: 'm' },
    fetch: fakeFetch(Response.json(body, { status: 409 }), []),
  }).catch((e: unknown) => e);
  assert.ok(err instanceof ApiError);
  assert.equal(err.status, 409);
  assert.equal(err.code, 'EL_EMPTY_BATCH');
  assert.equal(err.message, 'Nothing labeled');
  assert.equal(err.endpoint, 'GET /v1/models/m/labels/pending');
  const proxy = await call(getPendingLabels, {
    params: { model: 'm' },
    fetch: fakeFetch(new Response('Bad gateway', { status: 502 }), []),
  }).catch((e: unknown) => e);
  assert.equal((proxy as ApiError).code, 'HTTP_502');
});
