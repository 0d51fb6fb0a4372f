import { useBackend, loadMnist, thicken, evaluateModel, buildDigitsModel, fitModel, saveLayers, loadLayers, concat, shuffled, pick, take, runGate, mulberry32 } from './src/index.js';
await useBackend('cpu');
const train = loadMnist('train');
const base = buildDigitsModel({ seed: 1 });
await fitModel(base, take(train, 3000), { epochs: 3, learningRate: 2e-3, seed: 1 });
const golden = loadMnist('golden');
const art = await saveLayers(base);
const drift = thicken(loadMnist('drift'), 1);
const sl = (a: number, b: number) => pick(drift, [...Array(b - a).keys()].map((i) => i + a));
const corr = pick(drift, [...Array(400).keys()].filter((i) => i % 10 !== 3)), val = sl(400, 440), held = sl(1000, 1400);
console.log('base golden', (await evaluateModel(base, golden)).accuracy, 'held', (await evaluateModel(base, held)).accuracy);
for (const [ep, ratio, lr, bs, seed] of JSON.parse(process.argv[2]!) as number[][]) {
  const cand = await loadLayers(art);
  const rand = mulberry32(seed! ^ 0x5eed);
  const idx = new Set<number>(); while (idx.size < Math.round(corr.count * ratio!)) idx.add(Math.floor(rand() * train.count));
  const t = Date.now();
  await fitModel(cand, shuffled(concat(corr, pick(train, [...idx])), seed!), { epochs: ep!, learningRate: lr!, batchSize: bs!, seed });
  const g = await runGate(await loadLayers(art), cand, golden, val);
  console.log(JSON.stringify([ep, ratio, lr, bs, seed]), 's', (Date.now() - t) / 1000, 'held →', (await evaluateModel(cand, held)).accuracy, 'golden', g.candidate.golden.accuracy.toFixed(4), g.report.pass, g.report.metrics.filter((m) => !m.pass || m.candidate < m.stable! - 0.02).map((m) => `${m.name} ${m.stable?.toFixed(3)}→${m.candidate.toFixed(3)}`).join(', '));
}
