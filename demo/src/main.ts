/** The demo: draw a digit, see the on-device prediction, report a wrong one, watch the model hot-swap. */
import { createRuntime, defineReportElement, type Prediction } from '@edgeloop/runtime';
import { toMnistInput } from './preprocess.js';

// `npm start` passes the collector and the dev ingest key through Vite's env; `?collector=&key=` override them.
const params = new URLSearchParams(location.search);
const collector = params.get('collector') ?? import.meta.env.VITE_EDGELOOP_COLLECTOR ?? 'http://127.0.0.1:8080';
const key = params.get('key') ?? import.meta.env.VITE_EDGELOOP_KEY ?? '';

const pad = document.querySelector<HTMLCanvasElement>('#pad')!;
const labelOut = document.querySelector<HTMLOutputElement>('#label')!;
const bar = document.querySelector<HTMLDivElement>('#confidence')!;
const topk = document.querySelector<HTMLOListElement>('#topk')!;
const statusList = document.querySelector<HTMLDListElement>('#status')!;
const log = document.querySelector<HTMLUListElement>('#log')!;
const reportSlot = document.querySelector<HTMLDivElement>('#report-slot')!;

function note(text: string): void {
  const li = document.createElement('li');
  li.textContent = `${new Date().toLocaleTimeString()} ${text}`;
  log.prepend(li);
}

const rt = await createRuntime({
  collector,
  key,
  model: 'digits',
  engine: 'auto',
  worker: true,
  // TF.js's WASM backend fetches its binaries at run time; vite.config.ts copies them to /tfjs/.
  wasmPaths: { tfjs: new URL('/tfjs/', location.href).href },
});
// For the console (and the end-to-end test): `edgeloop.status()`, `await edgeloop.update()`.
(globalThis as { edgeloop?: typeof rt }).edgeloop = rt;
rt.on('swap', (e) =>
  note(`swapped ${e.from ?? '–'} → ${e.to} (${e.channel}, ${e.engine}, ${Math.round(e.tookMs)} ms)`),
);
rt.on('error', (e) => note(`error ${e.code}: ${e.message}`));

function showStatus(): void {
  const s = rt.status();
  const rows: Record<string, unknown> = {
    version: `${s.version ?? '–'} (${s.channel ?? '–'})`,
    engine: s.engine ? `${s.engine.name}: ${s.engine.reason}` : '–',
    predictions: s.predictions,
    swaps: s.swaps,
    outbox: `${s.outbox.pending} pending, ${s.outbox.sent} sent, ${s.outbox.dropped} dropped`,
    device: s.deviceId,
  };
  statusList.replaceChildren();
  for (const [k, v] of Object.entries(rows)) {
    const dt = document.createElement('dt');
    dt.textContent = k;
    const dd = document.createElement('dd');
    dd.textContent = typeof v === 'object' ? JSON.stringify(v) : String(v);
    statusList.append(dt, dd);
  }
}
setInterval(showStatus, 1000);
showStatus();

defineReportElement();
const report = document.createElement('edgeloop-report') as HTMLElement & { runtime?: unknown };
report.runtime = rt;
report.setAttribute('disabled', '');
reportSlot.append(report);

function show(p: Prediction): void {
  labelOut.textContent = p.label;
  const pct = Math.round(p.confidence * 100);
  bar.querySelector('span')!.style.width = `${pct}%`;
  bar.setAttribute('aria-valuenow', String(pct));
  bar.classList.toggle('low', p.confidence < 0.7);
  topk.replaceChildren(
    ...p.topK.slice(0, 3).map((t) => {
      const li = document.createElement('li');
      li.textContent = `${t.label}: ${(t.p * 100).toFixed(1)} %`;
      return li;
    }),
  );
  report.setAttribute('prediction-id', p.id);
  report.removeAttribute('disabled');
}

async function predict(): Promise<void> {
  const input = toMnistInput(pad);
  if (!input) return;
  show(await rt.predict(input));
}

// Drawing: white strokes on black, as the model was trained.
const ctx = pad.getContext('2d', { willReadFrequently: true })!;
function clear(): void {
  ctx.fillStyle = '#000';
  ctx.fillRect(0, 0, pad.width, pad.height);
  labelOut.textContent = '–';
}
clear();
let drawing = false;
pad.addEventListener('pointerdown', (e) => {
  drawing = true;
  pad.setPointerCapture(e.pointerId);
  ctx.strokeStyle = '#fff';
  ctx.lineWidth = 18;
  ctx.lineCap = 'round';
  ctx.lineJoin = 'round';
  ctx.beginPath();
  ctx.moveTo(e.offsetX, e.offsetY);
});
pad.addEventListener('pointermove', (e) => {
  if (!drawing) return;
  ctx.lineTo(e.offsetX, e.offsetY);
  ctx.stroke();
});
pad.addEventListener('pointerup', () => {
  drawing = false;
  void predict();
});
document.querySelector('#clear')!.addEventListener('click', clear);
