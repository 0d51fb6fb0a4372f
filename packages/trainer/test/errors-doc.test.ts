import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { catalogue } from '../src/index.js';

test('every error code is documented in the README with its exit status', () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  for (const [code, { exit }] of Object.entries(catalogue)) {
    assert.match(
      readme,
      new RegExp(`\\| \`${code}\` \\| ${exit} \\|`),
      `${code} (exit ${exit}) is missing from README.md's error table`,
    );
  }
  const documented = [...readme.matchAll(/\| `(ELT_[A-Z_]+)` \|/g)].map((m) => m[1]);
  for (const code of documented)
    assert.ok(code! in catalogue, `README documents ${code}, which errors.ts does not define`);
});
