/**
 * Reading back what an accepted request stored, from the database itself: every text the request carried is
 * there exactly as sent (a lone surrogate turned into U+FFFD, or a string cut short, fails here). One entry per
 * writing endpoint; a writing endpoint without one is still fuzzed for 5xx, codes and refusals.
 */
import assert from 'node:assert/strict';
import {
  canonicalLabelSet,
  deleteLabel,
  postEvents,
  postLabel,
  postVersion,
  promoteCanary,
  putBaseData,
  putGolden,
  putRollout,
  rollbackCanary,
  Uuid,
  type Endpoint,
} from '@edgeloop/protocol';
import type { StoreReader } from './state.js';
import { jsonText, type Built } from './requests.js';
import type { Schema } from './arbitraries.js';

type Obj = Record<string, unknown>;
const UUID = new RegExp((Uuid as Schema).pattern!);
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);
/** The value as the server parsed it (the JSON text round trip; raw tokens such as 1e999 included). */
export const parsed = (v: unknown): unknown => fromJson(jsonText(v) || 'null');
/** JSON text parsed, -0 read as 0 (a sign of zero is not text, and JSON writers drop it). */
const fromJson = (text: string) => JSON.parse(text, (_k, v: unknown) => (Object.is(v, -0) ? 0 : v)) as unknown;

export interface ReadBack {
  /** What to note before the request is sent (e.g. which of its event ids were already stored). */
  before?(db: StoreReader, req: Built): Promise<unknown>;
  /** Checks, after a 2xx, that what the request carried is stored as sent. */
  after(db: StoreReader, req: Built, answer: unknown, noted: unknown): Promise<void>;
}

const eventIds = (req: Built): string[] => {
  const events = isObj(req.sent.body) && Array.isArray(req.sent.body.events) ? req.sent.body.events : [];
  // Only an id of the schema's form can be stored (and PostgreSQL refuses U+0000 even as a query parameter).
  return events
    .map((e) => (isObj(e) && typeof e.id === 'string' ? e.id : null))
    .filter((x): x is string => x !== null && UUID.test(x));
};

async function storedEvents(db: StoreReader, ids: string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const id of new Set(ids)) {
    const rows = await db.rows('SELECT body FROM events WHERE id = ?', id);
    if (rows[0]) out.set(id, String(rows[0].body));
  }
  return out;
}

const auditOf = async (db: StoreReader, model: string) =>
  (await db.rows('SELECT reason, action FROM rollout_audit WHERE model = ? ORDER BY seq DESC LIMIT 1', model))[0];

const modelOf = (req: Built) => String((req.sent.params as Obj).model);

function examplesStored(db: StoreReader) {
  return async (req: Built, answer: unknown) => {
    const id = String((answer as Obj).id);
    const rows = await db.rows('SELECT input_hash, label, line FROM batch_examples WHERE batch_id = ?', id);
    const sent = Array.isArray(req.sent.body) ? req.sent.body : ((req.sent.body as Obj).examples as unknown[]);
    for (const ex of sent as Obj[]) {
      const row = rows.find((r) => r.input_hash === ex.inputHash);
      assert.ok(row, `example ${String(ex.inputHash)} is stored`);
      // A label set is stored in its canonical form and exported as `labels`, the set sorted.
      if (Array.isArray(ex.labels)) {
        assert.equal(row.label, canonicalLabelSet(ex.labels as string[]), 'label set stored canonically');
        assert.deepEqual(
          (fromJson(String(row.line)) as Obj).labels,
          [...new Set(ex.labels as string[])].sort(),
          'label set exported sorted',
        );
      } else assert.equal(row.label, ex.label, 'label stored as sent');
      assert.deepEqual((fromJson(String(row.line)) as Obj).input, parsed(ex.input), 'input stored as sent');
    }
  };
}

const rolloutReason = (fallback: string) => ({
  async after(db: StoreReader, req: Built) {
    const body = parsed(req.sent.body);
    const reason = isObj(body) ? body.reason : undefined;
    const audit = await auditOf(db, modelOf(req));
    assert.ok(audit, 'the change is in the audit log');
    assert.equal(audit.reason, typeof reason === 'string' ? reason : fallback, 'reason stored as sent');
  },
});

/** Read-back checks by endpoint. */
export const READ_BACK = new Map<Endpoint, ReadBack>([
  [
    postEvents,
    {
      before: (db, req) => storedEvents(db, eventIds(req)),
      async after(db, req, answer, noted) {
        const had = noted as Map<string, string>;
        const rejected = new Set(((answer as Obj).rejected as { index: number }[]).map((r) => r.index));
        const events = (req.sent.body as Obj).events as unknown[];
        const now = await storedEvents(db, eventIds(req));
        events.forEach((e, i) => {
          if (!isObj(e) || typeof e.id !== 'string' || had.has(e.id)) return;
          if (rejected.has(i)) {
            // A later event of the same request with this id may have been accepted.
            const accepted = events.some((o, j) => j !== i && !rejected.has(j) && isObj(o) && o.id === e.id);
            if (!accepted) assert.equal(now.get(e.id), undefined, `rejected event ${i} is not stored`);
            return;
          }
          const first = events.findIndex((o) => isObj(o) && o.id === e.id);
          if (first !== i) return;
          assert.ok(now.has(e.id), `accepted event ${i} is stored`);
          assert.deepEqual(fromJson(now.get(e.id)!), parsed(e), `event ${i} is stored as sent`);
        });
      },
    },
  ],
  [
    postLabel,
    {
      async after(db, req, answer) {
        const body = parsed(req.sent.body) as Obj;
        const [row] = await db.rows('SELECT label, comment FROM reviews WHERE id = ?', String((answer as Obj).id));
        assert.ok(row, 'the review is stored');
        const label = Array.isArray(body.labels) ? canonicalLabelSet(body.labels as string[]) : body.label;
        assert.equal(row.label, label, 'label (a set: canonical) stored as sent');
        assert.equal(row.comment, body.comment ?? null, 'comment stored as sent');
      },
    },
  ],
  [
    deleteLabel,
    {
      async after(db, req) {
        const rows = await db.rows('SELECT id FROM reviews WHERE id = ?', String((req.sent.params as Obj).id));
        assert.equal(rows.length, 0, 'the review is gone');
      },
    },
  ],
  [
    putRollout,
    {
      async after(db, req) {
        const body = parsed(req.sent.body) as Obj;
        const [row] = await db.rows(
          'SELECT stable, canary, canary_percent, auto FROM rollouts WHERE model = ?',
          modelOf(req),
        );
        assert.ok(row, 'the rollout is stored');
        assert.deepEqual(
          [row.stable, row.canary, Number(row.canary_percent) + 0],
          [body.stable, body.canary, body.canaryPercent],
        );
        if (body.auto !== undefined)
          assert.deepEqual(row.auto === null ? null : fromJson(String(row.auto)), body.auto, 'auto stored as sent');
        await rolloutReason('set through the API').after(db, req);
      },
    },
  ],
  [promoteCanary, rolloutReason('promoted through the API')],
  [rollbackCanary, rolloutReason('rolled back through the API')],
  [putGolden, { after: (db, req, answer) => examplesStored(db)(req, answer) }],
  [putBaseData, { after: (db, req, answer) => examplesStored(db)(req, answer) }],
  [
    postVersion,
    {
      async after(db, req, answer) {
        const version = String((answer as Obj).version);
        const [row] = await db.rows(
          'SELECT meta FROM model_versions WHERE model = ? AND version = ?',
          modelOf(req),
          version,
        );
        assert.ok(row, 'the version is stored');
        const stored = fromJson(String(row.meta)) as Obj;
        for (const [k, v] of Object.entries(parsed(req.sent.body) as Obj))
          assert.deepEqual(stored[k], v, `meta.${k} stored as sent`);
      },
    },
  ],
]);
