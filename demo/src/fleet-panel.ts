/**
 * The "simulate users" panel: how many users, how they draw, how often they report a wrong result; each
 * device's version (stable or canary) and the correction rate over time, per channel.
 */
import { DigitBook, STYLES } from './digits.js';
import { SimulatedFleet, type FleetOptions, type FleetWindow, type Tally } from './fleet.js';

const $ = <T extends Element>(sel: string) => document.querySelector<T>(sel)!;
const rate = (t: Tally) => (t.predictions ? t.reported / t.predictions : null);
const pct = (x: number | null) => (x === null ? '–' : `${(x * 100).toFixed(1)} %`);

/** Wires the panel in index.html; returns the fleet once its digits are loaded (on the first Start). */
export function mountFleetPanel(
  options: FleetOptions,
  note: (text: string) => void,
): { fleet(): SimulatedFleet | null } {
  const users = $<HTMLInputElement>('#sim-users');
  const style = $<HTMLSelectElement>('#sim-style');
  const report = $<HTMLInputElement>('#sim-report');
  const reportText = $<HTMLOutputElement>('#sim-report-text');
  const pace = $<HTMLSelectElement>('#sim-pace');
  const button = $<HTMLButtonElement>('#sim-start');
  const summary = $<HTMLParagraphElement>('#sim-summary');
  const devices = $<HTMLUListElement>('#sim-devices');
  const chart = $<SVGSVGElement>('#sim-chart');
  const versions = $<HTMLTableSectionElement>('#sim-versions tbody');

  style.replaceChildren(
    ...STYLES.map((s) => {
      const o = document.createElement('option');
      o.value = o.textContent = s;
      return o;
    }),
  );
  style.value = new URLSearchParams(location.search).get('simStyle') ?? 'rotated';

  let fleet: SimulatedFleet | null = null;
  let starting: Promise<SimulatedFleet> | null = null;
  const apply = (f: SimulatedFleet) => {
    f.style = style.value;
    f.reportRate = Number(report.value) / 100;
    f.drawEveryMs = Number(pace.value);
    reportText.textContent = `${report.value} %`;
  };
  for (const el of [style, report, pace]) el.addEventListener('input', () => (fleet ? apply(fleet) : undefined));
  report.addEventListener('input', () => (reportText.textContent = `${report.value} %`));
  users.addEventListener('change', () => void fleet?.resize(clampUsers()));
  const clampUsers = () => Math.max(1, Math.min(50, Math.round(Number(users.value) || 1)));

  button.addEventListener('click', async () => {
    if (fleet?.running) {
      await fleet.stop();
      button.textContent = 'Start';
      note('simulated users stopped');
      return;
    }
    button.disabled = true;
    try {
      starting ??= DigitBook.load().then((book) => new SimulatedFleet(book, options));
      fleet = await starting;
      apply(fleet);
      summary.textContent = `starting ${clampUsers()} simulated users…`;
      await fleet.resize(clampUsers());
      fleet.start();
      button.textContent = 'Stop';
      note(
        `${clampUsers()} simulated users drawing “${fleet.style}” digits, reporting ${report.value} % of wrong results`,
      );
    } catch (err) {
      summary.textContent = `Could not start: ${(err as Error).message}`;
    } finally {
      button.disabled = false;
    }
  });

  setInterval(() => {
    if (fleet) render(fleet);
  }, 500);

  function render(f: SimulatedFleet): void {
    const ds = f.devices();
    const onCanary = ds.filter((d) => d.channel === 'canary');
    const byVersion = new Map<string, number>();
    for (const d of ds)
      byVersion.set(`${d.version} (${d.channel})`, (byVersion.get(`${d.version} (${d.channel})`) ?? 0) + 1);
    const total = ds.reduce((a, d) => ({ p: a.p + d.predictions, r: a.r + d.reported }), { p: 0, r: 0 });
    summary.textContent =
      `${ds.length} users${f.running ? '' : ' (stopped)'}: ` +
      [...byVersion].map(([v, n]) => `${n} on ${v}`).join(', ') +
      ` · ${total.p} predictions, ${total.r} wrong results reported` +
      (onCanary.length ? ` · canary on ${onCanary.length} of ${ds.length} devices` : '');
    summary.dataset.canary = String(onCanary.length);

    devices.replaceChildren(
      ...ds.map((d) => {
        const li = document.createElement('li');
        li.dataset.channel = d.channel ?? '';
        li.dataset.device = d.id;
        li.title = `${d.id} · bucket ${d.bucket} · ${d.predictions} predictions, ${d.wrong} wrong, ${d.reported} reported`;
        const v = document.createElement('b');
        v.textContent = d.version ?? '–';
        const b = document.createElement('small');
        b.textContent = `#${d.id.split('-').at(-1)} · ${d.bucket}`;
        li.append(v, b);
        return li;
      }),
    );

    versions.replaceChildren(
      ...Object.entries(f.versions()).map(([v, t]) => {
        const tr = document.createElement('tr');
        for (const text of [
          v,
          String(t.predictions),
          pct(t.predictions ? t.wrong / t.predictions : null),
          pct(rate(t)),
        ]) {
          const td = document.createElement('td');
          td.textContent = text;
          tr.append(td);
        }
        return tr;
      }),
    );
    drawChart(chart, f.windows(), options.windowMs);
  }

  return { fleet: () => fleet };
}

const SERIES = [
  ['all', 'all users'],
  ['stable', 'stable'],
  ['canary', 'canary'],
] as const;

/** The correction rate per window, one line per channel (windows with no prediction on a channel are gaps). */
function drawChart(svg: SVGSVGElement, windows: FleetWindow[], windowMs: number): void {
  const W = 600;
  const H = 160;
  const pad = { l: 40, r: 8, t: 8, b: 18 };
  const shown = windows.slice(-60);
  const max = Math.max(0.05, ...shown.flatMap((w) => SERIES.map(([k]) => rate(w[k]) ?? 0)));
  const x = (i: number) => pad.l + (shown.length < 2 ? 0 : (i / (shown.length - 1)) * (W - pad.l - pad.r));
  const y = (v: number) => pad.t + (1 - v / max) * (H - pad.t - pad.b);
  const ns = 'http://www.w3.org/2000/svg';
  const el = (name: string, attrs: Record<string, string | number>, text?: string) => {
    const e = document.createElementNS(ns, name);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
    if (text !== undefined) e.textContent = text;
    return e;
  };
  const parts: SVGElement[] = [];
  for (const v of [0, max / 2, max]) {
    parts.push(el('line', { x1: pad.l, x2: W - pad.r, y1: y(v), y2: y(v), class: 'grid' }));
    parts.push(el('text', { x: pad.l - 4, y: y(v) + 4, 'text-anchor': 'end' }, `${Math.round(v * 100)}%`));
  }
  for (const [key, name] of SERIES) {
    // A channel's line breaks where it had no predictions (e.g. before a canary exists).
    let d = '';
    let pen = false;
    shown.forEach((w, i) => {
      const r = rate(w[key]);
      if (r === null) return void (pen = false);
      d += `${pen ? 'L' : 'M'}${x(i).toFixed(1)},${y(r).toFixed(1)}`;
      pen = true;
    });
    parts.push(el('path', { d, class: `series ${key}` }, undefined));
    parts.at(-1)!.append(el('title', {}, name));
  }
  parts.push(
    el(
      'text',
      { x: pad.l, y: H - 4 },
      `correction rate (reports ÷ predictions) per ${windowMs / 1000} s, last ${shown.length} windows`,
    ),
  );
  svg.replaceChildren(...parts);
}
