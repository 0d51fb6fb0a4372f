/**
 * The runtime's own code size as an app pays for it: the package entry bundled and minified with esbuild, engines
 * (onnxruntime-web, TensorFlow.js) left out, gzip level 9. "Initial" is what `import { createRuntime }` loads
 * at once; "lazy" chunks (worker client, workbox-window) load only when those options are used.
 */
import { gzipSync } from 'node:zlib';
import { basename, join } from 'node:path';
import { RUNTIME_DIR } from './build.js';

export interface SizeReport {
  /** `import { createRuntime } from '@edgeloop/runtime'`: what every app loads at once. */
  initialMinGzip: number;
  initialMin: number;
  lazyMinGzip: number;
  /** `<edgeloop-report>` on top of the runtime. */
  reportElementMinGzip: number;
  workerMinGzip: number;
  serviceWorkerMinGzip: number;
}

const ENGINES = ['onnxruntime-web', 'onnxruntime-web/*', '@tensorflow/*'];

/** Bundles the entry points and measures them. */
export async function measureSize(): Promise<SizeReport> {
  const { build } = await import('esbuild');
  const src = join(RUNTIME_DIR, 'src');
  const result = await build({
    // An app that imports createRuntime, and one that also uses the report element (tree-shaken as apps are).
    entryPoints: {
      index: join(RUNTIME_DIR, 'test', 'helpers', 'size-entries', 'app.ts'),
      report: join(RUNTIME_DIR, 'test', 'helpers', 'size-entries', 'report.ts'),
      worker: join(src, 'worker', 'entry.ts'),
      sw: join(src, 'sw', 'index.ts'),
    },
    bundle: true,
    splitting: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    conditions: ['source'],
    external: ENGINES,
    write: false,
    metafile: true,
    outdir: '/out',
    logLevel: 'silent',
  });
  // Output paths come relative to the working directory in the metafile and absolute in outputFiles: key by name.
  const files = new Map(result.outputFiles.map((f) => [basename(f.path), f.contents]));
  const outputs = new Map(Object.entries(result.metafile.outputs).map(([p, o]) => [basename(p), o]));
  const staticClosure = (entry: string): Set<string> => {
    const seen = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      for (const imp of outputs.get(file)?.imports ?? []) {
        if (imp.kind === 'import-statement' && !imp.external) visit(basename(imp.path));
      }
    };
    visit(entry);
    return seen;
  };
  // An app's bundler puts these files in its own chunks: gzip them together, as they would travel.
  const gz = (names: Iterable<string>) =>
    gzipSync(Buffer.concat([...names].map((name) => files.get(name)!)), { level: 9 }).length;
  const min = (names: Iterable<string>) => [...names].reduce((n, name) => n + files.get(name)!.length, 0);
  const initial = staticClosure('index.js');
  const report = [...staticClosure('report.js')].filter((f) => !initial.has(f));
  const worker = staticClosure('worker.js');
  const sw = staticClosure('sw.js');
  const lazy = [...files.keys()].filter(
    (f) => f.endsWith('.js') && !initial.has(f) && !report.includes(f) && !worker.has(f) && !sw.has(f),
  );
  return {
    initialMinGzip: gz(initial),
    initialMin: min(initial),
    lazyMinGzip: gz(lazy),
    reportElementMinGzip: gz(report),
    workerMinGzip: gz(worker),
    serviceWorkerMinGzip: gz(sw),
  };
}
