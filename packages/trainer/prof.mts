import { useBackend, loadMnist, thicken, shift, evaluateModel, buildDigitsModel, fitModel, saveLayers, loadLayers, concat, shuffled, pick, take, runGate } from './src/index.js';
await useBackend('cpu');
const [n, ep, blr, flr, ratio, fep, bs] = process.argv.slice(2).map(Number) as number[];
const train = loadMnist('train');
const base = buildDigitsModel({ seed: 1 });
let t = Date.now();
await fitModel(base, take(train, n!), { epochs: ep!, learningRate: blr! });
console.log('base s', (Date.now() - t) / 1000);
const golden = loadMnist('golden');
const art = await saveLayers(base);
console.log('base golden', (await evaluateModel(base, golden)).accuracy);
for (const [name, drift] of [['thick1', thicken(loadMnist('drift'), 1)], ['thick2', thicken(loadMnist('drift'), 2)], ['shift2', shift(loadMnist('drift'), 2, -2)]] as const) {
  const sl = (a: number, b: number) => pick(drift, [...Array(b - a).keys()].map((i) => i + a));
  const corr = sl(0, 400), val = sl(400, 440), held = sl(1000, 1400);
  const cand = await loadLayers(art);
  const replay = pick(train, [...Array(Math.round(400 * ratio!)).keys()].map((i) => (i * 7919) % train.count));
  t = Date.now();
  await fitModel(cand, shuffled(concat(corr, replay), 3), { epochs: fep!, learningRate: flr!, batchSize: bs! });
  const g = await runGate(await loadLayers(art), cand, golden, val, { recallTolerance: 0.05 });
  console.log(name, 's', (Date.now() - t) / 1000, 'held', (await evaluateModel(await loadLayers(art), held)).accuracy, '→', (await evaluateModel(cand, held)).accuracy, 'golden', g.candidate.golden.accuracy.toFixed(4), g.report.pass, g.report.metrics.filter((m) => !m.pass || m.candidate < m.stable! - 0.02).map((m) => `${m.name} ${m.stable?.toFixed(3)}→${m.candidate.toFixed(3)}`).join(', '));
}
