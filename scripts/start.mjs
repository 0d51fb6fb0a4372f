#!/usr/bin/env node
// `npm start`: the whole loop on the embedded default, from a checkout.
//   1. the collector (SQLite under ./.edgeloop; a dev key set is created on the first start),
//   2. the admin page, built once with Vite (served by the collector at /admin/),
//   3. the trainer: `bootstrap` trains digits v1 on MNIST when the registry is empty, then `train --watch` (with a
//      brisk canary policy, so one person sees a canary promoted in minutes),
//   4. the demo (draw a digit) on Vite's dev server, talking to the collector with the ingest key.
// Extra arguments go to the collector (npm start -- --port 9000). Ctrl-C stops everything.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join, resolve } from 'node:path';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? args[i + 1] : fallback;
};
if (!args.includes('--data-dir')) args.push('--data-dir', '.edgeloop');
if (!args.includes('--port')) args.push('--port', process.env.PORT ?? '8080');
// Request logs would drown the other processes' lines; `npm start -- --log-level info` brings them back.
if (!args.includes('--log-level')) args.push('--log-level', 'warn');
const dataDir = resolve(root, flag('--data-dir', '.edgeloop'));
const collectorUrl = `http://${flag('--host', '127.0.0.1')}:${flag('--port', '8080')}`;
const model = process.env.EDGELOOP_MODEL ?? 'digits';

const children = new Set();
let stopping = false;
function stopAll(code = 0) {
  if (stopping) return;
  stopping = true;
  for (const c of children) c.kill('SIGTERM');
  setTimeout(() => process.exit(code), 3000).unref();
}
for (const s of ['SIGINT', 'SIGTERM']) process.on(s, () => stopAll(0));

function start(name, cmd, cmdArgs, opts = {}, onLine = () => {}) {
  const child = spawn(cmd, cmdArgs, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  children.add(child);
  const prefix = `[${name}] `;
  for (const stream of [child.stdout, child.stderr]) {
    let rest = '';
    stream.on('data', (chunk) => {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop();
      for (const line of lines) {
        process.stdout.write(prefix + line + '\n');
        onLine(line);
      }
    });
  }
  const done = new Promise((resolve) =>
    child.on('exit', (code, signal) => {
      children.delete(child);
      resolve(code ?? (signal ? 1 : 0));
    }),
  );
  return { child, done };
}

const node = process.execPath;
const trainerCli = ['packages/trainer/bin/edgeloop-trainer.js'];

async function waitReady(url, ms) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    try {
      const r = await fetch(`${url}/readyz`);
      if (r.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`the collector did not become ready at ${url} within ${ms / 1000} s`);
}

async function main() {
  // 2 first: the admin page is built once; the collector serves whatever admin-dist holds.
  if (!existsSync(join(root, 'packages/collector/admin-dist/index.html'))) {
    console.log('[start] building the admin page (once)…');
    const r = spawnSync('npm', ['run', 'build:admin', '-w', '@edgeloop/collector'], { cwd: root, stdio: 'inherit' });
    if (r.status !== 0) console.log('[start] the admin page did not build; /admin/ will say how to build it');
  }

  // The bin runs the server in its own process: stopping this child stops the collector.
  const collector = start('collector', node, ['packages/collector/bin/edgeloop-collector.js', ...args]);
  collector.done.then((code) => {
    if (!stopping) {
      console.error(`[start] the collector exited (${code}); stopping`);
      stopAll(code || 1);
    }
  });
  await waitReady(collectorUrl, 60_000);

  const keys = JSON.parse(readFileSync(join(dataDir, 'dev-keys.json'), 'utf8'));
  // The trainer's own key (not the admin's): versions say "by" the trainer, and the trainer cannot label or promote.
  const trainerEnv = { ...process.env, EDGELOOP_COLLECTOR: collectorUrl, EDGELOOP_TOKEN: keys.trainer };

  // 3: bootstrap exits 0 with a message when the model already has versions.
  const versions = await fetch(`${collectorUrl}/v1/models/${encodeURIComponent(model)}/versions`, {
    headers: { authorization: `Bearer ${keys.trainer}` },
  })
    .then((r) => (r.ok ? r.json() : { versions: [] }))
    .then((b) => b.versions ?? [])
    .catch(() => []);
  console.log(
    versions.length
      ? `[start] model "${model}" has ${versions.length} version(s) (newest ${versions[0].version}): no bootstrap`
      : `[start] bootstrapping model "${model}": the first start trains it on MNIST (a few minutes on 2 cores)…`,
  );
  const boot = start('trainer', node, [...trainerCli, 'bootstrap', '--model', model], { env: trainerEnv });
  const bootCode = await boot.done;
  if (stopping) return;
  if (bootCode !== 0) {
    console.error(`[start] bootstrap failed (exit ${bootCode}); stopping`);
    return stopAll(bootCode);
  }
  // A brisk canary, so one person sees the loop turn in minutes: a quarter of the devices at first (the demo's
  // simulated users, 20 by default, are the samples; the demo's own device can join the canary), a step of 25
  // points every 30 s once each side has 100 predictions, promotion at 75 %. The trainer's default
  // (DEFAULT_AUTO_POLICY: 10 %, 200 predictions, 5 min) suits real traffic, where one user would wait forever.
  const canaryPolicy = ['--canary-percent', '25', '--canary-step', '25', '--canary-max', '75'];
  canaryPolicy.push('--canary-interval', '30', '--canary-min-samples', '100');
  start('trainer', node, [...trainerCli, 'train', '--model', model, '--watch', ...canaryPolicy], { env: trainerEnv });

  // 4: the demo; Vite picks the next free port if 5173 is taken, so the summary waits for the URL it prints.
  let demoUrl;
  const demoReady = new Promise((resolve) => {
    demoUrl = resolve;
    setTimeout(() => resolve(null), 30_000).unref();
  });
  const demo = start(
    'demo',
    node,
    [join(root, 'node_modules/vite/bin/vite.js'), '--host', '127.0.0.1', '--port', process.env.DEMO_PORT ?? '5173'],
    {
      cwd: join(root, 'demo'),
      env: { ...process.env, VITE_EDGELOOP_COLLECTOR: collectorUrl, VITE_EDGELOOP_KEY: keys.ingest },
    },
    (line) => {
      // eslint-disable-next-line no-control-regex
      const url = /Local:\s+(http\S+)/.exec(line.replace(/\x1b\[[0-9;]*m/g, ''))?.[1];
      if (url) demoUrl(url);
    },
  );
  demo.done.then(() => stopAll(0));
  const url = await demoReady;
  if (stopping) return;

  console.log(`
[start] edgeloop is running
  collector   ${collectorUrl}   (SQLite under ${dataDir})
  admin page  ${collectorUrl}/admin/   admin key: ${keys.admin}
  demo        ${url ?? 'see the [demo] lines above for its URL'}
  trainer     retrains "${model}" when 50 new labels arrive (report wrong results in the demo)
Ctrl-C stops everything.`);
}

main().catch((err) => {
  console.error(`[start] ${err.message}`);
  stopAll(1);
});
