import { useBackend, loadMnist, thicken, evaluateModel, buildDigitsModel, fitModel, saveLayers, loadLayers, concat, shuffled, pick, take, runGate } from './src/index.js';
await useBackend('cpu');
const train = loadMnist('train');
const base = buildDigitsModel({ seed: 1 });
let t = Date.now();
await fitModel(base, take(train, 3000), { epochs: 3, learningRate: 2e-3 });
console.log('base s', (Date.now() - t) / 1000);
const golden = loadMnist('golden');
const art = await saveLayers(base);
console.log('base golden', (await evaluateModel(base, golden)).accuracy);
const drift = thicken(loadMnist('drift'), 1);
const sl = (a: number, b: number) => pick(drift, [...Array(b - a).keys()].map((i) => i + a));
const corr = sl(0, 400), val = sl(400, 440), held = sl(1000, 1400);
for (const [lr, ratio, ep, tail, bs] of JSON.parse(process.argv[2]!) as number[][]) {
  const cand = await loadLayers(art);
  const replay = pick(train, [...Array(Math.round(400 * ratio!)).keys()].map((i) => (i * 7919) % train.count));
  t = Date.now();
  await fitModel(cand, shuffled(concat(corr, replay), 3), { epochs: ep!, learningRate: lr!, batchSize: bs!, ...(tail ? { trainableTail: tail } : {}) });
  const g = await runGate(await loadLayers(art), cand, golden, val, { recallTolerance: 0.05 });
  console.log(lr, ratio, ep, tail, bs, 's', (Date.now() - t) / 1000, 'held', (await evaluateModel(await loadLayers(art), held)).accuracy, '→', (await evaluateModel(cand, held)).accuracy, 'golden', g.candidate.golden.accuracy.toFixed(4), g.report.pass, g.report.metrics.filter((m) => !m.pass || m.candidate < m.stable! - 0.02).map((m) => `${m.name} ${m.stable?.toFixed(3)}→${m.candidate.toFixed(3)}`).join(', '));
}
