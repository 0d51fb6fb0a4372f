/** Every error the API answers carries a code of the catalogue, documented in ERRORS.md with that status. */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { App } from '@edgeloop/collector';
import type { LightMyRequestResponse } from 'fastify';
import { bearer, KEYS, makeApp, STORE_KINDS } from './helpers/stores.js';
import { meta } from './helpers/release.js';

const doc = readFileSync(new URL('../ERRORS.md', import.meta.url), 'utf8');
const documented = new Map([...doc.matchAll(/^\| `(EL_[A-Z_]+)` \| (\d{3}) \|/gm)].map((m) => [m[1]!, Number(m[2])]));

/** Asserts the answer is in the error format with a documented code and that code's status. */
function assertDocumented(r: LightMyRequestResponse, code: string, status: number) {
  const body = r.json();
  assert.equal(body.code, code, r.body);
  assert.ok(documented.has(body.code), `${body.code} is not documented in ERRORS.md`);
  assert.equal(r.statusCode, documented.get(body.code), `${body.code}: the status ERRORS.md gives it`);
  assert.equal(r.statusCode, status);
  assert.equal(body.statusCode, status);
  assert.equal(typeof body.error, 'string');
  assert.ok(body.message.length > 10, body.message);
}

type Part = [name: string, value: string | { file: string; bytes: Uint8Array }];

/** A multipart/form-data body built by the platform's FormData, parts in the order given. */
async function form(parts: Part[]): Promise<{ payload: Buffer; headers: Record<string, string> }> {
  const f = new FormData();
  for (const [name, value] of parts) {
    if (typeof value === 'string') f.append(name, value);
    else f.append(name, new Blob([value.bytes as Uint8Array<ArrayBuffer>]), value.file);
  }
  const res = new Response(f);
  return {
    payload: Buffer.from(await res.arrayBuffer()),
    headers: { 'content-type': res.headers.get('content-type')! },
  };
}

const artifact = (i: number, bytes = new Uint8Array([1, 2, 3, i & 0xff])): Part => [
  'onnx',
  { file: `m${i}.onnx`, bytes },
];
const files = (n: number) => Array.from({ length: n }, (_, i) => artifact(i));
const metaPart = (): Part => ['meta', JSON.stringify(meta())];

for (const kind of STORE_KINDS) {
  describe(`error codes (${kind})`, () => {
    let app: App;
    let close: () => Promise<void>;
    before(async () => ({ app, close } = await makeApp(kind)));
    after(() => close());

    const upload = async (parts: Part[] | { payload: Buffer | string; headers: Record<string, string> }) => {
      const body = Array.isArray(parts) ? await form(parts) : parts;
      return app.inject({
        method: 'POST',
        url: '/v1/models/limits/versions',
        headers: { ...body.headers, ...bearer(KEYS.trainer) },
        payload: body.payload,
      });
    };

    test('multipart limits answer 413 with catalogue codes: too many files, fields or parts', async () => {
      const cases: [string, Part[]][] = [
        ['files', files(65)],
        ['fields', [metaPart(), ['note', 'x']]],
        ['parts', [metaPart(), ...files(65)]],
      ];
      for (const [what, parts] of cases) {
        const r = await upload(parts);
        assertDocumented(r, 'EL_TOO_MANY_PARTS', 413);
        assert.match(
          r.json().message,
          new RegExp(`more than \\d+ ${what === 'fields' ? 'field' : what}`),
          `${what}: ${r.body}`,
        );
      }
    });

    test('an artifact file over the limit answers 413 EL_ARTIFACT_TOO_LARGE', async () => {
      const r = await upload([metaPart(), artifact(0, new Uint8Array(128 * 1024 * 1024 + 1))]);
      assertDocumented(r, 'EL_ARTIFACT_TOO_LARGE', 413);
      assert.match(r.json().message, /134217728 bytes/);
    });

    test('malformed multipart bodies are client errors with catalogue codes', async () => {
      assertDocumented(
        await upload({ payload: 'garbage', headers: { 'content-type': 'multipart/form-data' } }),
        'EL_INVALID_BODY',
        400,
      );
      const proto = '--b\r\nContent-Disposition: form-data; name="__proto__"\r\n\r\nx\r\n--b--\r\n';
      assertDocumented(
        await upload({ payload: proto, headers: { 'content-type': 'multipart/form-data; boundary=b' } }),
        'EL_INVALID_BODY',
        400,
      );
    });

    test('a URL Fastify cannot decode answers 400 EL_INVALID_BODY', async () => {
      const r = await app.inject({
        method: 'GET',
        url: '/v1/batches/%E0%A4%A/examples',
        headers: bearer(KEYS.trainer),
      });
      assertDocumented(r, 'EL_INVALID_BODY', 400);
    });
  });
}
