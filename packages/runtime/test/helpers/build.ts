/**
 * Builds the test pages (runtime from source, worker, service worker, an app's engine module) with Vite, once per content hash, under
 * packages/runtime/.test-build/ (gitignored). A second test file reuses the build.
 */
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const RUNTIME_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BUILD_ROOT = join(RUNTIME_DIR, '.test-build');
const PAGES = join(RUNTIME_DIR, 'test', 'pages');
const ROOT = join(RUNTIME_DIR, '..', '..');

function files(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...files(p));
    else out.push(p);
  }
  return out;
}

function contentHash(): string {
  const h = createHash('sha256');
  for (const f of [
    ...files(join(RUNTIME_DIR, 'src')),
    ...files(PAGES),
    ...files(join(ROOT, 'packages', 'protocol', 'src')),
    fileURLToPath(import.meta.url),
  ]) {
    h.update(f).update(readFileSync(f));
  }
  return h.digest('hex').slice(0, 16);
}

let building: Promise<string> | undefined;

/** The folder with the built test pages (index.html, blank.html, sw.js, tfjs/*.wasm). */
export function buildPages(): Promise<string> {
  return (building ??= doBuild());
}

async function doBuild(): Promise<string> {
  const out = join(BUILD_ROOT, `pages-${contentHash()}`);
  if (existsSync(join(out, '.done'))) return out;
  const { build, defaultClientConditions } = await import('vite');
  await build({
    root: PAGES,
    configFile: false,
    logLevel: 'warn',
    resolve: { conditions: ['source', ...defaultClientConditions] },
    worker: { format: 'es' },
    build: {
      outDir: out,
      emptyOutDir: true,
      target: 'esnext',
      minify: false,
      reportCompressedSize: false,
      // No modulepreload helper around dynamic imports: it reaches for `document`, and engine.js also runs in a worker.
      modulePreload: false,
      chunkSizeWarningLimit: 100_000,
      rollupOptions: {
        input: {
          index: join(PAGES, 'index.html'),
          blank: join(PAGES, 'blank.html'),
          sw: join(PAGES, 'sw.ts'),
          engine: join(PAGES, 'engine.ts'),
        },
        // engine.js is an app's engine module (engineModules): it keeps its default export.
        preserveEntrySignatures: 'exports-only',
        output: {
          entryFileNames: (chunk: { name: string }) =>
            chunk.name === 'sw' || chunk.name === 'engine' ? `${chunk.name}.js` : 'assets/[name]-[hash].js',
        },
      },
    },
  });
  // TF.js's WASM backend fetches its binaries at run time from a path the app sets (wasmPaths.tfjs).
  mkdirSync(join(out, 'tfjs'), { recursive: true });
  const tfjsWasm = join(ROOT, 'node_modules', '@tensorflow', 'tfjs-backend-wasm', 'dist');
  for (const f of readdirSync(tfjsWasm).filter((n) => n.endsWith('.wasm')))
    copyFileSync(join(tfjsWasm, f), join(out, 'tfjs', f));
  writeFileSync(join(out, '.done'), new Date().toISOString());
  for (const old of readdirSync(BUILD_ROOT).filter((n) => n.startsWith('pages-') && join(BUILD_ROOT, n) !== out)) {
    rmSync(join(BUILD_ROOT, old), { recursive: true, force: true });
  }
  return out;
}
