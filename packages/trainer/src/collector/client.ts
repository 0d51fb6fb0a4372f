/**
 * CollectorClient: the trainer's only way to the collector, its v1 HTTP API (design.md). Transport failures and
 * refused keys become ELT_COLLECTOR_UNREACHABLE / ELT_BAD_TOKEN; other non-2xx answers keep the collector's code.
 */
import type { Batch, BatchCounts, Example, Rollout, Version, VersionMeta } from '@edgeloop/protocol';
import { sha256Hex } from '@edgeloop/protocol';
import { TrainerError } from '../errors.js';
import type { ArtifactFile } from '../export/artifacts.js';

export interface CollectorOptions {
  url: string;
  token: string;
  /** Per-request timeout in ms (default 60 s). */
  timeoutMs?: number;
}

/** The subset of `GET /v1/models/:model/metrics` the drift trigger reads. */
export interface MetricsSummary {
  stable: string | null;
  versions: { version: string; channel: string | null; predictions: number; drift: { label: number | null; confidence: number | null } }[];
}

/** `GET /v1/models/:model/labels/pending`: what a freeze would produce now, without freezing. */
export interface PendingLabels {
  model: string;
  /** Examples a freeze now would produce. */
  pending: number;
  /** The rest of that batch's counts (ties for the review queue, capped votes, inputs without bytes, golden inputs). */
  counts: BatchCounts;
  /** `createdAt` and id of the model's latest batch; null before the first. */
  since: number | null;
  lastBatch: string | null;
}

/** A collector error answer: status and the stable `code` of its body. */
export class CollectorAnswer extends TrainerError {
  constructor(readonly status: number, readonly collectorCode: string, what: string, message: string) {
    super('ELT_COLLECTOR_ERROR', [`${status} ${collectorCode}`, what, message]);
  }
}

const IDEMPOTENT = new Set(['GET', 'HEAD', 'PUT', 'DELETE']);
const RESET = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET']);

export class CollectorClient {
  readonly url: string;
  private readonly token: string;
  private readonly timeoutMs: number;

  constructor(options: CollectorOptions) {
    this.url = options.url.replace(/\/+$/, '');
    this.token = options.token;
    this.timeoutMs = options.timeoutMs ?? 60_000;
  }

  #lastAnswer = -Infinity;

  /** Sends one request; resolves with the 2xx response, throws a TrainerError otherwise. */
  async request(method: string, path: string, init: { json?: unknown; body?: BodyInit; headers?: Record<string, string> } = {}): Promise<Response> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.token}`, ...init.headers };
    let body = init.body;
    if (init.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(init.json);
    }
    // After a pause (a training step), a pooled keep-alive connection may be one the server is closing. An
    // idempotent request can simply go again (below); before one that is not, a health check, retried like any
    // GET, leaves a fresh connection for it to use at once.
    if (!IDEMPOTENT.has(method) && path !== '/healthz' && performance.now() - this.#lastAnswer > 1000) await this.request('GET', '/healthz');
    let res: Response;
    for (let attempt = 1; ; attempt++) {
      try {
        res = await fetch(this.url + path, { method, headers, body: body ?? null, signal: AbortSignal.timeout(this.timeoutMs) });
        this.#lastAnswer = performance.now();
        break;
      } catch (e) {
        const cause = (e as { cause?: { code?: string; message?: string } }).cause;
        // A pooled keep-alive connection the server closed while a long training step kept this process busy fails
        // at once with a reset: an idempotent request goes again once, on a new connection.
        if (attempt === 1 && IDEMPOTENT.has(method) && cause?.code !== undefined && RESET.has(cause.code)) continue;
        throw new TrainerError('ELT_COLLECTOR_UNREACHABLE', [this.url, cause?.code ?? cause?.message ?? (e as Error).message], { cause: e });
      }
    }
    if (res.ok) return res;
    const text = await res.text().catch(() => '');
    let code = `HTTP_${res.status}`;
    let message = text.slice(0, 500);
    try {
      const parsed = JSON.parse(text) as { code?: string; message?: string };
      code = parsed.code ?? code;
      message = parsed.message ?? message;
    } catch {
      // Not JSON (a proxy's error page, say): keep the text.
    }
    if (res.status === 401 || res.status === 403) throw new TrainerError('ELT_BAD_TOKEN', [`${res.status} ${code} on ${method} ${path}: ${message}`]);
    throw new CollectorAnswer(res.status, code, `${method} ${path}`, message);
  }

  private async json<T>(method: string, path: string, json?: unknown): Promise<T> {
    return (await (await this.request(method, path, json === undefined ? {} : { json })).json()) as T;
  }

  /** `GET /healthz`: throws ELT_COLLECTOR_UNREACHABLE when the collector is down. */
  async health(): Promise<void> {
    await this.request('GET', '/healthz');
  }

  /** The model's versions, newest first ([] when it has none). */
  async versions(model: string): Promise<Version[]> {
    try {
      return (await this.json<{ versions: Version[] }>('GET', `/v1/models/${model}/versions`)).versions;
    } catch (e) {
      if (e instanceof CollectorAnswer && e.status === 404) return [];
      throw e;
    }
  }

  async version(model: string, version: string): Promise<Version> {
    return this.json<Version>('GET', `/v1/models/${model}/versions/${encodeURIComponent(version)}`);
  }

  /** The rollout, or null when the model has no version yet. */
  async rollout(model: string): Promise<Rollout | null> {
    try {
      return await this.json<Rollout>('GET', `/v1/models/${model}/rollout`);
    } catch (e) {
      if (e instanceof CollectorAnswer && e.status === 404) return null;
      throw e;
    }
  }

  async setRollout(model: string, rollout: Rollout & { reason?: string }): Promise<Rollout> {
    return this.json<Rollout>('PUT', `/v1/models/${model}/rollout`, rollout);
  }

  /** Downloads an artifact and checks its sha256. */
  async artifact(sha256: string): Promise<Uint8Array> {
    const bytes = new Uint8Array(await (await this.request('GET', `/v1/artifacts/${sha256}`)).arrayBuffer());
    const actual = await sha256Hex(bytes);
    if (actual !== sha256) throw new TrainerError('ELT_BAD_MODEL', [`artifact ${sha256} arrived with sha256 ${actual}`]);
    return bytes;
  }

  /** Sets the golden set (`PUT /v1/models/:model/golden`, NDJSON). */
  async putGolden(model: string, examples: Example[]): Promise<Batch> {
    const body = examples.map((e) => JSON.stringify(e)).join('\n') + '\n';
    const res = await this.request('PUT', `/v1/models/${model}/golden`, { body, headers: { 'content-type': 'application/x-ndjson' } });
    return (await res.json()) as Batch;
  }

  /** The golden set's examples, or null when the model has none. */
  async golden(model: string): Promise<Example[] | null> {
    try {
      return ndjson<Example>(await (await this.request('GET', `/v1/models/${model}/golden`)).text());
    } catch (e) {
      if (e instanceof CollectorAnswer && e.status === 404) return null;
      throw e;
    }
  }

  /** How many labeled examples a freeze would produce now (the collector's dry run: nothing is frozen). */
  async pendingLabels(model: string): Promise<PendingLabels> {
    return this.json<PendingLabels>('GET', `/v1/models/${model}/labels/pending`);
  }

  /** Freezes a batch of everything labeled since the last one; null when nothing new was labeled. */
  async freezeBatch(model: string): Promise<Batch | null> {
    try {
      return await this.json<Batch>('POST', `/v1/models/${model}/batches`);
    } catch (e) {
      if (e instanceof CollectorAnswer && e.collectorCode === 'EL_EMPTY_BATCH') return null;
      throw e;
    }
  }

  async batches(model: string): Promise<Batch[]> {
    return this.json<Batch[]>('GET', `/v1/models/${model}/batches`);
  }

  async batchExamples(id: string): Promise<Example[]> {
    return ndjson<Example>(await (await this.request('GET', `/v1/batches/${encodeURIComponent(id)}/examples`)).text());
  }

  /** Publishes a version (multipart: `meta` + one file part per artifact, named by format) and returns its name. */
  async publish(model: string, meta: VersionMeta, files: ArtifactFile[]): Promise<string> {
    const form = new FormData();
    form.append('meta', JSON.stringify(meta));
    for (const f of files) form.append(f.format, new Blob([f.bytes as Uint8Array<ArrayBuffer>]), f.name);
    return (await (await this.request('POST', `/v1/models/${model}/versions`, { body: form })).json() as { version: string }).version;
  }

  /** Per-version metrics since `since` (admin scope on the collector). */
  async metrics(model: string, since: number): Promise<MetricsSummary> {
    return this.json<MetricsSummary>('GET', `/v1/models/${model}/metrics?since=${since}`);
  }
}

function ndjson<T>(text: string): T[] {
  return text.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as T);
}
