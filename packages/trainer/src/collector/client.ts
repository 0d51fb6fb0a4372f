/**
 * CollectorClient: the trainer's only way to the collector, its v1 HTTP API called through protocol's specs. Transport failures and
 * refused keys become ELT_COLLECTOR_UNREACHABLE / ELT_BAD_TOKEN; other non-2xx answers keep the collector's code.
 */
import {
  ApiError,
  apiErrorOf,
  call,
  claimLease,
  claimNextLease,
  getArtifact,
  getLease,
  getBatchExamples,
  getGolden,
  getHealth,
  getMetrics,
  getPendingLabels,
  getRollout,
  getUnreported,
  getVersion,
  listBatches,
  listVersions,
  postBatch,
  postVersion,
  putBaseData,
  putGolden,
  putRollout,
  releaseLease,
  renewLease,
  sha256Hex,
  type Answer,
  type Batch,
  type CallArgs,
  type Endpoint,
  type Example,
  type Lease,
  type MetricsReport,
  type PendingLabels,
  type Rollout,
  type RolloutUpdate,
  type UnreportedPrediction,
  type Version,
  type VersionMeta,
} from '@edgeloop/protocol';
import { TrainerError } from '../errors.js';
import type { ArtifactFile } from '../export/artifacts.js';

export type { PendingLabels, Lease };

export interface CollectorOptions {
  url: string;
  token: string;
  /** Per-request timeout in ms (default 60 s). */
  timeoutMs?: number;
}

/** The part of `GET /v1/models/:model/metrics` the drift trigger reads. */
export interface MetricsSummary {
  stable: MetricsReport['stable'];
  versions: Pick<MetricsReport['versions'][number], 'version' | 'channel' | 'predictions' | 'drift'>[];
}

/** A collector error answer: status and the stable `code` of its body. */
export class CollectorAnswer extends TrainerError {
  constructor(
    readonly status: number,
    readonly collectorCode: string,
    what: string,
    message: string,
  ) {
    super('ELT_COLLECTOR_ERROR', [`${status} ${collectorCode}`, what, message]);
  }
}

type Args<E extends Endpoint> = Omit<CallArgs<E>, 'baseUrl' | 'key' | 'init'>;

const IDEMPOTENT = new Set(['GET', 'HEAD', 'PUT', 'DELETE']);
const RESET = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET']);

export class CollectorClient {
  readonly url: string;
  private readonly token: string;
  private readonly timeoutMs: number;

  /** Awaited before a publish or a rollout change (see `guardedBy`). */
  #guard: (() => Promise<void>) | null = null;
  /** The training lease a publish is fenced by (see `guardedBy`). */
  #leaseId: (() => string) | null = null;

  constructor(options: CollectorOptions) {
    this.url = options.url.replace(/\/+$/, '');
    this.token = options.token;
    this.timeoutMs = options.timeoutMs ?? 60_000;
  }

  /**
   * A client like this one whose publishes and rollout changes first await `guard`, which throws to stop them (watch
   * mode: the training lease is confirmed right before anything reaches devices). With `leaseId`, a publish also
   * names that lease, and the collector refuses it (409 EL_LEASE_LOST) once the lease is no longer the model's.
   */
  guardedBy(guard: () => Promise<void>, leaseId?: () => string): CollectorClient {
    const guarded = new CollectorClient({ url: this.url, token: this.token, timeoutMs: this.timeoutMs });
    guarded.#guard = guard;
    guarded.#leaseId = leaseId ?? null;
    return guarded;
  }

  /** Calls one endpoint of the collector's API; throws a TrainerError when it is unreachable or answers non-2xx. */
  async call<const E extends Endpoint>(spec: E, args: Args<E>): Promise<Answer<E>> {
    return this.#send(spec.method, spec.url, () =>
      call(spec, {
        ...args,
        baseUrl: this.url,
        key: this.token,
        init: { signal: AbortSignal.timeout(this.timeoutMs) },
      } as CallArgs<E>),
    );
  }

  /** Sends one request outside the typed specs; resolves with the 2xx response, throws a TrainerError otherwise. */
  async request(
    method: string,
    path: string,
    init: { body?: BodyInit; headers?: Record<string, string> } = {},
  ): Promise<Response> {
    return this.#send(method, path, async () => {
      const headers = { authorization: `Bearer ${this.token}`, ...init.headers };
      const res = await fetch(this.url + path, {
        method,
        headers,
        body: init.body ?? null,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      if (!res.ok) throw await apiErrorOf(res, `${method} ${path}`);
      return res;
    });
  }

  #lastAnswer = -Infinity;

  /**
   * After a pause (a training step), a pooled keep-alive connection may be one the server is closing: it fails at
   * once with a reset. An idempotent request goes again once, on a new connection; before one that is not, a health
   * check (retried like any GET) leaves a fresh connection for it to use at once.
   */
  async #send<T>(method: string, path: string, send: () => Promise<T>): Promise<T> {
    if (!IDEMPOTENT.has(method) && performance.now() - this.#lastAnswer > 1000) await this.health();
    for (let attempt = 1; ; attempt++) {
      try {
        const answer = await send();
        this.#lastAnswer = performance.now();
        return answer;
      } catch (e) {
        const code = (e as { cause?: { code?: string } }).cause?.code;
        if (
          attempt === 1 &&
          !(e instanceof ApiError) &&
          IDEMPOTENT.has(method) &&
          code !== undefined &&
          RESET.has(code)
        )
          continue;
        throw this.#trainerError(e);
      }
    }
  }

  // A refused key is ELT_BAD_TOKEN, another error answer keeps the collector's code, anything else is transport.
  #trainerError(e: unknown): TrainerError {
    if (e instanceof ApiError) {
      if (e.status === 401 || e.status === 403)
        return new TrainerError('ELT_BAD_TOKEN', [`${e.status} ${e.code} on ${e.endpoint}: ${e.message}`]);
      return new CollectorAnswer(e.status, e.code, e.endpoint, e.message);
    }
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    return new TrainerError(
      'ELT_COLLECTOR_UNREACHABLE',
      [this.url, cause?.code ?? cause?.message ?? (e as Error).message],
      { cause: e },
    );
  }

  /** `GET /healthz`: throws ELT_COLLECTOR_UNREACHABLE when the collector is down. */
  async health(): Promise<void> {
    await this.call(getHealth, {});
  }

  /** The model's versions, newest first ([] when it has none). */
  async versions(model: string): Promise<Version[]> {
    try {
      return (await this.call(listVersions, { params: { model } })).versions;
    } catch (e) {
      if (e instanceof CollectorAnswer && e.status === 404) return [];
      throw e;
    }
  }

  async version(model: string, version: string): Promise<Version> {
    return this.call(getVersion, { params: { model, version } });
  }

  /** The rollout, or null when the model has no version yet. */
  async rollout(model: string): Promise<Rollout | null> {
    try {
      return await this.call(getRollout, { params: { model } });
    } catch (e) {
      if (e instanceof CollectorAnswer && e.status === 404) return null;
      throw e;
    }
  }

  async setRollout(model: string, rollout: RolloutUpdate): Promise<Rollout> {
    await this.#guard?.();
    return this.call(putRollout, { params: { model }, body: rollout });
  }

  /** Downloads an artifact and checks its sha256. */
  async artifact(sha256: string): Promise<Uint8Array> {
    const bytes = await this.call(getArtifact, { params: { sha256 } });
    const actual = await sha256Hex(bytes);
    if (actual !== sha256)
      throw new TrainerError('ELT_BAD_MODEL', [`artifact ${sha256} arrived with sha256 ${actual}`]);
    return bytes;
  }

  /** Sets the golden set (`PUT /v1/models/:model/golden`, NDJSON). */
  async putGolden(model: string, examples: Example[]): Promise<Batch> {
    return this.call(putGolden, { params: { model }, body: examples });
  }

  /** The golden set's examples, or null when the model has none. */
  async golden(model: string): Promise<Example[] | null> {
    try {
      return await this.call(getGolden, { params: { model } });
    } catch (e) {
      if (e instanceof CollectorAnswer && e.status === 404) return null;
      throw e;
    }
  }

  /** Sets the model's base data, the set retraining replays (`PUT /v1/models/:model/base-data`, NDJSON). */
  async putBaseData(model: string, examples: Example[]): Promise<Batch> {
    return this.call(putBaseData, { params: { model }, body: examples });
  }

  /**
   * The model's base data with the id of its set (`GET /v1/models/:model/base-data`: the id is a header, which the
   * typed call does not return), or null when it has none.
   */
  async baseData(model: string): Promise<{ id: string; examples: Example[] } | null> {
    try {
      const res = await this.request('GET', `/v1/models/${encodeURIComponent(model)}/base-data`, {
        headers: { accept: 'application/x-ndjson' },
      });
      const examples = (await res.text())
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l) as Example);
      return { id: res.headers.get('x-edgeloop-batch-id') ?? '', examples };
    } catch (e) {
      if (e instanceof CollectorAnswer && e.status === 404) return null;
      throw e;
    }
  }

  /** How many labeled examples a freeze would produce now (the collector's dry run: nothing is frozen). */
  async pendingLabels(model: string): Promise<PendingLabels> {
    return this.call(getPendingLabels, { params: { model } });
  }

  /** Freezes a batch of everything labeled since the last one; null when nothing new was labeled. */
  async freezeBatch(model: string): Promise<Batch | null> {
    try {
      return await this.call(postBatch, { params: { model } });
    } catch (e) {
      if (e instanceof CollectorAnswer && e.collectorCode === 'EL_EMPTY_BATCH') return null;
      throw e;
    }
  }

  async batches(model: string): Promise<Batch[]> {
    return this.call(listBatches, { params: { model } });
  }

  async batchExamples(id: string): Promise<Example[]> {
    return this.call(getBatchExamples, { params: { id } });
  }

  /** Kept predictions of `version` that no one corrected or reviewed, received at least `settledMs` ago, newest first. */
  async unreported(
    model: string,
    version: string,
    options: { settledMs?: number; limit?: number } = {},
  ): Promise<UnreportedPrediction[]> {
    return (await this.call(getUnreported, { params: { model }, query: { version, ...options } })).items;
  }

  /** Publishes a version (multipart: `meta` + one file part per artifact, named by format) and returns its name. */
  async publish(model: string, meta: VersionMeta, files: ArtifactFile[]): Promise<string> {
    await this.#guard?.();
    const form = new FormData();
    form.append('meta', JSON.stringify(meta));
    for (const f of files) form.append(f.format, new Blob([f.bytes as Uint8Array<ArrayBuffer>]), f.name);
    const query = this.#leaseId ? { lease: this.#leaseId() } : {};
    return (await this.call(postVersion, { params: { model }, query, body: form })).version;
  }

  /**
   * Claims the model's training lease: `{ lease }` when granted, `{ heldBy }` with the lease another trainer holds
   * (null when its claim is still being committed) when not.
   */
  async claimLease(
    model: string,
    holder: string,
    ttlMs: number,
  ): Promise<{ lease: Lease; heldBy?: undefined } | { lease?: undefined; heldBy: Lease | null }> {
    try {
      return { lease: await this.call(claimLease, { params: { model }, body: { holder, ttlMs } }) };
    } catch (e) {
      if (!(e instanceof CollectorAnswer && e.collectorCode === 'EL_LEASE_HELD')) throw e;
      try {
        return { heldBy: await this.call(getLease, { params: { model } }) };
      } catch (e2) {
        if (e2 instanceof CollectorAnswer && e2.status === 404) return { heldBy: null };
        throw e2;
      }
    }
  }

  /**
   * Claims the lease of a free model among `models` (those this trainer would train now, at most 100), for a trainer
   * serving many models; null when every one is held.
   */
  async claimNextLease(models: string[], holder: string, ttlMs: number): Promise<Lease | null> {
    return (await this.call(claimNextLease, { body: { holder, ttlMs, models } })).lease;
  }

  /** Renews a training lease for `ttlMs` from now; throws a CollectorAnswer with EL_LEASE_LOST once it is lost. */
  async renewLease(model: string, leaseId: string, ttlMs: number): Promise<Lease> {
    return this.call(renewLease, { params: { model, leaseId }, body: { ttlMs } });
  }

  /** Releases a training lease (again: a no-op). */
  async releaseLease(model: string, leaseId: string): Promise<Lease> {
    return this.call(releaseLease, { params: { model, leaseId } });
  }

  /** Per-version metrics since `since` (admin scope on the collector). */
  async metrics(model: string, since: number): Promise<MetricsSummary> {
    return this.call(getMetrics, { params: { model }, query: { since } });
  }
}
