import { describe, test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { App } from '@edgeloop/collector';
import type { Version } from '@edgeloop/protocol';
import { KEYS, bearer, makeApp, STORE_KINDS, type TestStore } from './helpers/stores.js';
import { defaultFiles, meta, multipart, publish, sha256 } from './helpers/release.js';

for (const kind of STORE_KINDS) {
  describe(`model registry (${kind})`, () => {
    let app: App;
    let store: TestStore;
    let close: () => Promise<void>;
    before(async () => ({ app, store, close } = await makeApp(kind)));
    after(() => close());

    test('publishes a version with content-addressed artifacts and its lineage', async () => {
      const r = await publish(app, 'digits', '1.0.0', {
        batches: ['b-1'],
        trainer: { epochs: 3 },
        codeVersion: 'abc123',
      });
      assert.equal(r.statusCode, 201, r.body);
      assert.deepEqual(r.json(), { version: '1.0.0' });

      const v = (
        await app.inject({ method: 'GET', url: '/v1/models/digits/versions/1.0.0', headers: bearer(KEYS.admin) })
      ).json() as Version;
      assert.equal(v.createdBy, 'seed-trainer');
      assert.equal(v.meta.version, '1.0.0');
      assert.deepEqual(v.meta.batches, ['b-1']);
      assert.deepEqual(v.meta.trainer, { epochs: 3 });
      assert.equal(v.meta.codeVersion, 'abc123');
      const files = defaultFiles('1.0.0');
      assert.deepEqual(
        v.artifacts,
        files.map((f) => ({
          format: f.format,
          name: f.name,
          url: `/v1/artifacts/${sha256(f.bytes)}`,
          sha256: sha256(f.bytes),
          bytes: f.bytes.length,
        })),
      );
    });

    test('republishing a version is refused with 409 and changes nothing', async () => {
      const before = (
        await app.inject({ method: 'GET', url: '/v1/models/digits/versions/1.0.0', headers: bearer(KEYS.admin) })
      ).json();
      const r = await publish(app, 'digits', '1.0.0', { codeVersion: 'other' });
      assert.equal(r.statusCode, 409);
      assert.equal(r.json().code, 'EL_VERSION_EXISTS');
      const afterwards = (
        await app.inject({ method: 'GET', url: '/v1/models/digits/versions/1.0.0', headers: bearer(KEYS.admin) })
      ).json();
      assert.deepEqual(afterwards, before);
    });

    test("a model's first version becomes its stable, and the audit log says who did it", async () => {
      const r = await app.inject({ method: 'GET', url: '/v1/models/digits/rollout', headers: bearer(KEYS.trainer) });
      assert.deepEqual(r.json(), { stable: '1.0.0', canary: null, canaryPercent: 0, auto: null });
      const h = (
        await app.inject({ method: 'GET', url: '/v1/models/digits/rollout/history', headers: bearer(KEYS.admin) })
      ).json();
      assert.equal(h.entries.length, 1);
      assert.equal(h.entries[0].action, 'publish');
      assert.equal(h.entries[0].actor, 'seed-trainer');
    });

    test('versions published without a name are numbered', async () => {
      const a = await publish(app, 'numbered', undefined);
      const b = await publish(app, 'numbered', undefined, { parent: 'v1' });
      assert.deepEqual([a.statusCode, b.statusCode], [201, 201]);
      assert.deepEqual([a.json().version, b.json().version], ['v1', 'v2']);
      const list = (
        await app.inject({ method: 'GET', url: '/v1/models/numbered/versions', headers: bearer(KEYS.admin) })
      ).json();
      assert.deepEqual(
        list.versions.map((v: Version) => [v.version, v.meta.parent]),
        [
          ['v2', 'v1'],
          ['v1', null],
        ],
      );
    });

    test('lists models with their latest version and rollout', async () => {
      const r = await app.inject({ method: 'GET', url: '/v1/models', headers: bearer(KEYS.admin) });
      assert.equal(r.statusCode, 200);
      const byName = Object.fromEntries(r.json().models.map((m: { model: string }) => [m.model, m]));
      assert.equal(byName.digits.latest, '1.0.0');
      assert.equal(byName.numbered.versions, 2);
      assert.equal(byName.numbered.latest, 'v2');
      assert.equal(byName.numbered.stable, 'v1');
    });

    test('rejects an unknown parent, a missing or invalid meta, and bad artifact parts', async () => {
      const unknownParent = await publish(app, 'digits', '2.0.0', { parent: 'nope' });
      assert.equal(unknownParent.statusCode, 422);
      assert.equal(unknownParent.json().code, 'EL_INVALID_VERSION');

      const cases: [unknown, { format: string; name: string; bytes: Uint8Array }[], string][] = [
        [undefined, defaultFiles('x'), 'EL_INVALID_VERSION'],
        ['{not json', defaultFiles('x'), 'EL_INVALID_VERSION'],
        [{ ...meta({ version: 'x1' }), labels: [] }, defaultFiles('x'), 'EL_INVALID_VERSION'],
        [{ ...meta({ version: 'x1' }), extra: 1 }, defaultFiles('x'), 'EL_INVALID_VERSION'],
        [meta({ version: 'x1' }), [], 'EL_INVALID_ARTIFACT'],
        [
          meta({ version: 'x1' }),
          [{ format: 'pickle', name: 'model.pkl', bytes: new Uint8Array(3) }],
          'EL_INVALID_ARTIFACT',
        ],
        [
          meta({ version: 'x1' }),
          [{ format: 'onnx', name: '../../etc/passwd', bytes: new Uint8Array(3) }],
          'EL_INVALID_ARTIFACT',
        ],
        [
          meta({ version: 'x1' }),
          [{ format: 'onnx', name: 'model.onnx', bytes: new Uint8Array(0) }],
          'EL_INVALID_ARTIFACT',
        ],
      ];
      for (const [m, files, code] of cases) {
        const body = await multipart(m, files);
        const r = await app.inject({
          method: 'POST',
          url: '/v1/models/digits/versions',
          headers: { ...body.headers, ...bearer(KEYS.trainer) },
          payload: body.payload,
        });
        assert.equal(r.statusCode, 422, `${JSON.stringify(m)?.slice(0, 40)} → ${r.body}`);
        assert.equal(r.json().code, code);
      }
      const missing = await app.inject({
        method: 'GET',
        url: '/v1/models/digits/versions/x1',
        headers: bearer(KEYS.admin),
      });
      assert.equal(missing.statusCode, 404);
    });

    test('a JSON body is not a publication', async () => {
      const r = await app.inject({
        method: 'POST',
        url: '/v1/models/digits/versions',
        headers: bearer(KEYS.trainer),
        payload: meta({ version: 'j1' }),
      });
      assert.equal(r.statusCode, 400);
    });

    test('ingest keys cannot publish or read the registry', async () => {
      const r = await publish(app, 'digits', '9.9.9', {}, undefined, KEYS.ingest);
      assert.equal(r.statusCode, 403);
      const list = await app.inject({ method: 'GET', url: '/v1/models', headers: bearer(KEYS.ingest) });
      assert.equal(list.statusCode, 403);
    });

    test('an unknown model has no versions', async () => {
      const r = await app.inject({ method: 'GET', url: '/v1/models/unknown/versions', headers: bearer(KEYS.admin) });
      assert.equal(r.statusCode, 404);
      assert.equal(r.json().code, 'EL_MODEL_NOT_FOUND');
    });

    test('artifact bytes round-trip with their sha256 and immutable caching headers', async () => {
      for (const f of defaultFiles('1.0.0')) {
        const sha = sha256(f.bytes);
        const r = await app.inject({ method: 'GET', url: `/v1/artifacts/${sha}`, headers: bearer(KEYS.ingest) });
        assert.equal(r.statusCode, 200);
        assert.equal(sha256(r.rawPayload), sha);
        assert.deepEqual(new Uint8Array(r.rawPayload), f.bytes);
        assert.equal(r.headers['cache-control'], 'public, max-age=31536000, immutable');
        assert.equal(r.headers['etag'], `"${sha}"`);
        assert.equal(r.headers['content-type'], 'application/octet-stream');
        const again = await app.inject({
          method: 'GET',
          url: `/v1/artifacts/${sha}?key=${KEYS.ingest}`,
          headers: { 'if-none-match': `"${sha}"` },
        });
        assert.equal(again.statusCode, 304);
        assert.equal(again.rawPayload.length, 0);
      }
    });

    test('artifacts live where the store keeps them: files under the data dir, or PostgreSQL', async () => {
      const sha = sha256(defaultFiles('1.0.0')[0]!.bytes);
      const onDisk = existsSync(join(store.dataDir, 'artifacts', sha.slice(0, 2), sha));
      assert.equal(onDisk, kind === 'sqlite');
      assert.equal(await app.blobs.has(sha), true);
    });

    test('an unknown sha256 is 404 and a name is never a path', async () => {
      const r = await app.inject({
        method: 'GET',
        url: `/v1/artifacts/${'0'.repeat(64)}`,
        headers: bearer(KEYS.ingest),
      });
      assert.equal(r.statusCode, 404);
      assert.equal(r.json().code, 'EL_NOT_FOUND');
      for (const bad of ['..%2F..%2Fedgeloop.db', 'model.onnx', 'A'.repeat(64)]) {
        const b = await app.inject({ method: 'GET', url: `/v1/artifacts/${bad}`, headers: bearer(KEYS.ingest) });
        assert.equal(b.statusCode, 400, bad);
      }
    });
  });
}
