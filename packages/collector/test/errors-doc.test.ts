import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { errors } from '@edgeloop/collector';

const doc = readFileSync(new URL('../ERRORS.md', import.meta.url), 'utf8');
const rows = new Map(
  [...doc.matchAll(/^\| `(EL_[A-Z_]+)` \| (\d{3}) \| ([^|]+) \| ([^|]+) \|$/gm)].map((m) => [
    m[1]!,
    { status: Number(m[2]), meaning: m[3]!.trim(), todo: m[4]!.trim() },
  ]),
);

test('ERRORS.md documents every code of src/errors.ts with its status, and nothing else', () => {
  const codes = Object.keys(errors).sort();
  assert.deepEqual([...rows.keys()].sort(), codes, 'the codes in ERRORS.md and src/errors.ts differ');
  for (const [code, Make] of Object.entries(errors)) {
    const e = new Make('x', 'y', 'z');
    assert.equal(e.code, code, `${code} is created with its own name`);
    assert.equal(rows.get(code)?.status, e.statusCode, `${code}: status in ERRORS.md`);
  }
});

test('every documented code says what it means and what to do', () => {
  for (const [code, row] of rows) {
    assert.ok(row.meaning.length > 10, `${code}: meaning`);
    assert.ok(row.todo.length > 10, `${code}: what to do`);
  }
});
