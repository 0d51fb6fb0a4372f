// The bundle budget: what an app that calls createRuntime() loads, engines excluded, stays within 15 KiB
// min+gzip (esbuild, as an app's bundler would tree-shake and minify it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { measureSize } from './helpers/size.js';

test('createRuntime() costs at most 15 KiB min+gzip, engines excluded', async () => {
  const size = await measureSize();
  assert.ok(size.initialMinGzip <= 15 * 1024, `${size.initialMinGzip} bytes min+gzip`);
  // Engines, the worker client and workbox-window load only when used.
  assert.ok(size.lazyMinGzip > 0);
});
