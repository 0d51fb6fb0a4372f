/**
 * The demo: draw a digit, see the on-device prediction once the drawing pauses, report a wrong one (never as the
 * label the model gave), see it queued then sent, and watch the model hot-swap in the Events list.
 */
import { createRuntime, defineReportElement, type Prediction } from '@edgeloop/runtime';
import { bucketOf } from '@edgeloop/protocol';
import { toMnistInput } from './preprocess.js';
import { mountFleetPanel } from './fleet-panel.js';

// `npm start` passes the collector and the dev ingest key through Vite's env; `?collector=&key=` override them.
const params = new URLSearchParams(location.search);
const collector = params.get('collector') ?? import.meta.env.VITE_EDGELOOP_COLLECTOR ?? 'http://127.0.0.1:8080';
const key = params.get('key') ?? import.meta.env.VITE_EDGELOOP_KEY ?? '';
/** How long the drawing must pause before the page predicts (`?predictAfterMs=` overrides it). */
const PREDICT_AFTER_MS = Number(params.get('predictAfterMs') ?? 300);
/** How often the page asks the collector which version to run (`?pollMs=`): often, so a swap shows soon. */
const POLL_MS = Number(params.get('pollMs') ?? 10_000);
const MODEL = 'digits';
// A fixed device id (`?device=`) puts the page in a known canary bucket, and a short stats window
// (`?statsWindowMs=`) shows its counters to the collector's canary analysis sooner: the end-to-end tests use both.
const deviceId = params.get('device') ?? undefined;
const statsWindowMs = params.has('statsWindowMs') ? Number(params.get('statsWindowMs')) : undefined;

const pad = document.querySelector<HTMLCanvasElement>('#pad')!;
const labelOut = document.querySelector<HTMLOutputElement>('#label')!;
const bar = document.querySelector<HTMLDivElement>('#confidence')!;
const barFill = bar.querySelector('span')!;
const pctOut = document.querySelector<HTMLSpanElement>('#confidence-text')!;
const reportState = document.querySelector<HTMLParagraphElement>('#report-state')!;
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
  model: MODEL,
  engine: 'auto',
  worker: true,
  pollIntervalMs: POLL_MS,
  deviceId,
  statsWindowMs,
  // TF.js's WASM backend fetches its binaries at run time; vite.config.ts copies them to /tfjs/.
  wasmPaths: { tfjs: new URL('/tfjs/', location.href).href },
});
// For the console (and the end-to-end test): `edgeloop.status()`, `await edgeloop.update()`.
(globalThis as { edgeloop?: typeof rt }).edgeloop = rt;
{
  const s = rt.status();
  note(`loaded ${s.version ?? '–'} (${s.channel ?? '–'}, ${s.engine?.name ?? '–'})`);
}
rt.on('swap', (e) => {
  // The runtime tells of a new version once it serves it; `tookMs` is how long ago it saw it in the manifest.
  note(`new version available: ${e.to} (${e.channel}), seen ${Math.round(e.tookMs)} ms ago`);
  note(`swapped ${e.from ?? '–'} → ${e.to} (${e.channel}, ${e.engine})`);
});
rt.on('error', (e) => note(`error ${e.code}: ${e.message}`));

// This device's canary bucket, and the switch that asks the collector for the canary (remembered on the device).
const joinBox = document.querySelector<HTMLInputElement>('#join-canary')!;
const canaryState = document.querySelector<HTMLParagraphElement>('#canary-state')!;
{
  const bucket = bucketOf(MODEL, rt.status().deviceId);
  document.querySelector('#bucket')!.textContent =
    `Bucket ${bucket} of 10,000: by bucket, this device gets a canary once its percent passes ${(bucket / 100).toFixed(2)} %.`;
  joinBox.checked = rt.status().joinedCanary;
  joinBox.disabled = false;
}
function showCanaryState(): void {
  const s = rt.status();
  canaryState.textContent = s.joinedCanary
    ? s.channel === 'canary'
      ? `Joined: running the canary ${s.version}.`
      : `Joined: no canary is live, running stable ${s.version}; the next canary comes here at once.`
    : `Assigned by bucket: running ${s.version} (${s.channel}).`;
  canaryState.dataset.channel = s.channel ?? '';
}
joinBox.addEventListener('change', async () => {
  joinBox.disabled = true;
  const join = joinBox.checked;
  try {
    await rt.joinCanary(join);
    const s = rt.status();
    note(
      `${join ? 'joined the canary' : 'left the canary'}: running ${s.version} (${s.channel})${join && s.channel !== 'canary' ? ', no canary is live' : ''}`,
    );
  } catch (err) {
    joinBox.checked = !join;
    note(`could not ${join ? 'join' : 'leave'} the canary: ${(err as Error).message}`);
  } finally {
    joinBox.disabled = false;
    showCanaryState();
  }
});
// A promotion changes the channel without a swap (same bytes): the status refresh below shows it too.
rt.on('swap', () => showCanaryState());
showCanaryState();

// The simulated users: their own runtimes (device ids kept in this browser), talking to the same collector.
const simPrefix =
  localStorage.getItem('edgeloop-demo-sim') ??
  (() => {
    const p = `sim-${crypto.randomUUID().slice(0, 8)}`;
    localStorage.setItem('edgeloop-demo-sim', p);
    return p;
  })();
const simulation = mountFleetPanel(
  {
    collector,
    key,
    model: MODEL,
    idPrefix: params.get('simPrefix') ?? simPrefix,
    wasmPaths: { tfjs: new URL('/tfjs/', location.href).href },
    pollIntervalMs: Number(params.get('simPollMs') ?? 5000),
    statsWindowMs: Number(params.get('simStatsMs') ?? 10_000),
    windowMs: Number(params.get('simWindowMs') ?? 10_000),
  },
  note,
);
document.querySelector('#sim-controls')!.addEventListener('submit', (e) => e.preventDefault());
// For the console and the tests: `simulation.fleet()?.devices()`.
(globalThis as { simulation?: typeof simulation }).simulation = simulation;

/** A report waiting for the collector's acknowledgement: `dropped` is the outbox's count when it was queued. */
let waiting: { label: string; dropped: number } | null = null;
let last = { sent: rt.status().outbox.sent, dropped: rt.status().outbox.dropped };

function showStatus(): void {
  const s = rt.status();
  const { sent, dropped, pending } = s.outbox;
  if (sent > last.sent) note(`uploaded ${sent - last.sent} event(s): the collector acknowledged them`);
  if (dropped > last.dropped)
    note(`dropped ${dropped - last.dropped} event(s): ${s.outbox.lastError ?? 'outbox full'}`);
  last = { sent, dropped };
  showCanaryState();
  // Nothing left in the outbox: everything queued so far, the report included, was acknowledged (or dropped).
  if (waiting && pending === 0) {
    const ok = dropped === waiting.dropped;
    setReportState(
      ok ? `Report “${waiting.label}” sent.` : `Report “${waiting.label}” could not be sent.`,
      ok ? 'sent' : 'dropped',
    );
    note(ok ? `report “${waiting.label}” sent` : `report “${waiting.label}” dropped`);
    waiting = null;
  }
  const rows: Record<string, unknown> = {
    version: `${s.version ?? '–'} (${s.channel ?? '–'})`,
    engine: s.engine ? `${s.engine.name}: ${s.engine.reason}` : '–',
    predictions: s.predictions,
    swaps: s.swaps,
    outbox: `${s.outbox.pending} pending, ${s.outbox.sent} sent, ${s.outbox.dropped} dropped`,
    device: s.deviceId,
    canary: s.joinedCanary ? 'joined (asks the collector for it)' : 'by bucket',
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
setInterval(showStatus, 500);
showStatus();

function setReportState(text: string, state: 'queued' | 'sent' | 'dropped' | 'error' | '' = ''): void {
  reportState.textContent = text;
  reportState.dataset.state = state;
}

/** The prediction on screen, the one a report is about. */
let shown: Prediction | null = null;

defineReportElement();
const report = document.createElement('edgeloop-report') as HTMLElement & { runtime?: unknown };
// The element offers the model's labels but the one it predicted, and a report naming that label is refused.
report.runtime = {
  labels: () => rt.labels().filter((l) => l !== shown?.label),
  reportWrongResult: (id: string, label: string, options?: { comment?: string }) =>
    shown?.id === id && label === shown.label
      ? Promise.reject(new Error(`“${label}” is what the model predicted: choose the right answer`))
      : rt.reportWrongResult(id, label, options),
};
report.setAttribute('disabled', '');
reportSlot.append(report);
report.addEventListener('edgeloop-report', (e) => {
  const { label, predictionId } = (e as CustomEvent<{ label: string; predictionId: string }>).detail;
  waiting = { label, dropped: rt.status().outbox.dropped };
  setReportState(`Report “${label}” queued, will be sent.`, 'queued');
  note(`reported ${predictionId.slice(-8)} as “${label}”: queued, will be sent`);
});
report.addEventListener('edgeloop-report-error', (e) => {
  const { error } = (e as CustomEvent<{ error: unknown }>).detail;
  setReportState(`Not reported: ${error instanceof Error ? error.message : String(error)}`, 'error');
});

function show(p: Prediction): void {
  shown = p;
  labelOut.textContent = p.label;
  const pct = Math.round(p.confidence * 100);
  barFill.style.width = `${pct}%`;
  pctOut.textContent = `${pct} %`;
  bar.setAttribute('aria-valuenow', String(pct));
  bar.setAttribute('aria-valuetext', `${pct} %`);
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

/** Bumped by every stroke and by Clear: a prediction that finishes after either is not shown. */
let drawn = 0;
let timer: ReturnType<typeof setTimeout> | undefined;

async function predict(): Promise<void> {
  const input = toMnistInput(pad);
  if (!input) return;
  const at = drawn;
  const p = await rt.predict(input);
  if (at === drawn) show(p);
}

/** Predicts once the drawing has paused for PREDICT_AFTER_MS, not at the end of every stroke. */
function predictSoon(): void {
  clearTimeout(timer);
  timer = setTimeout(() => void predict(), PREDICT_AFTER_MS);
}

// Drawing: white strokes on black, as the model was trained.
const ctx = pad.getContext('2d', { willReadFrequently: true })!;
function clear(): void {
  clearTimeout(timer);
  drawn++;
  ctx.fillStyle = '#000';
  ctx.fillRect(0, 0, pad.width, pad.height);
  shown = null;
  labelOut.textContent = '–';
  barFill.style.width = '0';
  pctOut.textContent = '';
  bar.removeAttribute('aria-valuenow');
  bar.removeAttribute('aria-valuetext');
  bar.classList.remove('low');
  topk.replaceChildren();
  report.removeAttribute('prediction-id');
  report.setAttribute('disabled', '');
  // A report still on its way keeps being watched; only its line on screen goes.
  if (!waiting) setReportState('');
}
clear();
let drawing = false;
pad.addEventListener('pointerdown', (e) => {
  drawing = true;
  clearTimeout(timer);
  drawn++;
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
  if (!drawing) return;
  drawing = false;
  predictSoon();
});
document.querySelector('#clear')!.addEventListener('click', clear);
