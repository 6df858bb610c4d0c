// A thin client of the Confluent schema registry REST API (Confluent's own registry, and
// Apicurio's /apis/ccompat/v7): the calls a serializer makes, a bounded cache in front of them,
// retries with backoff on what may pass (connection errors, timeouts, 5xx), and every other
// answer as a stable TRIB_REGISTRY_* code naming the registry and the subject or id.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Counter } from 'prom-client';
import { Agent, request, type Dispatcher } from 'undici';
import { TributaryError, isTributaryError } from '../../errors.ts';
import { BoundedCache } from './bounded-cache.ts';
import { isRetryableStatus, registryHttpError } from './registry-error.ts';

/**
 * A backoff of `ms` with half of it random: clients that failed together (several sinks or slots
 * registering at once, which makes Apicurio's SQL storage answer 500 on a duplicate content row)
 * retry apart instead of colliding again at every attempt.
 */
const jittered = (ms: number): number => ms / 2 + Math.random() * (ms / 2);

export type SchemaType = 'AVRO' | 'PROTOBUF' | 'JSON';

export interface SchemaReference {
  readonly name: string;
  readonly subject: string;
  readonly version: number;
}

export interface RegistrySchema {
  readonly schemaType: SchemaType;
  readonly schema: string;
  readonly references?: readonly SchemaReference[];
}

export interface SubjectVersion extends RegistrySchema {
  readonly subject: string;
  readonly version: number;
  readonly id: number;
}

/** The counters the client updates (JobMetrics has them: tributary_schema_registry_*). */
export interface RegistryClientMetrics {
  readonly registryRequests: Counter<'operation' | 'outcome'>;
  readonly registryCacheHits: Counter<'cache'>;
}

export interface RegistryClientOptions {
  /** Base URL of the Confluent API, e.g. http://127.0.0.1:18085/apis/ccompat/v7. */
  readonly url: string;
  readonly basicAuth?: { readonly username: string; readonly password: string };
  /** PEM CA certificate(s) to trust for an https URL. */
  readonly ca?: string | Buffer;
  /** Per attempt (connect + answer). Default 10 s. */
  readonly timeoutMs?: number;
  /** Attempts in all, for retryable failures. Default 4. */
  readonly attempts?: number;
  /** First backoff; doubles per attempt up to maxBackoffMs, half of each random. Defaults 100 ms, 2 s. */
  readonly backoffMs?: number;
  readonly maxBackoffMs?: number;
  /** Entries per cache (schemas by id, ids by subject and schema, subject versions). Default 1000. */
  readonly cacheCapacity?: number;
  readonly metrics?: RegistryClientMetrics;
}

const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json';

interface SchemaAnswer {
  schema?: unknown;
  schemaType?: unknown;
  references?: unknown;
}

export class SchemaRegistryClient {
  readonly url: string;
  private readonly dispatcher: Dispatcher | undefined;
  private readonly headers: Record<string, string>;
  private readonly timeoutMs: number;
  private readonly attempts: number;
  private readonly backoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly byId: BoundedCache<number, RegistrySchema>;
  private readonly idBySchema: BoundedCache<string, SubjectVersion>;
  private readonly versions: BoundedCache<string, SubjectVersion>;

  private readonly o: RegistryClientOptions;

  constructor(o: RegistryClientOptions) {
    this.o = o;
    let parsed: URL;
    try {
      parsed = new URL(o.url);
    } catch (err) {
      throw new TributaryError('TRIB_REGISTRY_CONFIG', `schema registry URL "${o.url}" is not a URL`, { cause: err });
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new TributaryError('TRIB_REGISTRY_CONFIG', `schema registry URL "${o.url}" is not http(s)`);
    }
    if (parsed.username || parsed.password) {
      throw new TributaryError('TRIB_REGISTRY_CONFIG', 'schema registry URL carries credentials: use basicAuth');
    }
    this.url = o.url.replace(/\/+$/, '');
    this.dispatcher = o.ca === undefined ? undefined : new Agent({ connect: { ca: o.ca } });
    this.headers = { accept: CONTENT_TYPE, 'content-type': CONTENT_TYPE };
    if (o.basicAuth) {
      const token = Buffer.from(`${o.basicAuth.username}:${o.basicAuth.password}`).toString('base64');
      this.headers.authorization = `Basic ${token}`;
    }
    this.timeoutMs = o.timeoutMs ?? 10_000;
    this.attempts = Math.max(1, o.attempts ?? 4);
    this.backoffMs = o.backoffMs ?? 100;
    this.maxBackoffMs = o.maxBackoffMs ?? 2000;
    const capacity = o.cacheCapacity ?? 1000;
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new TributaryError('TRIB_REGISTRY_CONFIG', `cacheCapacity must be a positive integer, got ${capacity}`);
    }
    this.byId = new BoundedCache(capacity);
    this.idBySchema = new BoundedCache(capacity);
    this.versions = new BoundedCache(capacity);
  }

  /** GET /schemas/ids/{id}: the writer schema of a framed message. Cached: an id's schema never changes. */
  async schemaById(id: number): Promise<RegistrySchema> {
    const hit = this.byId.get(id);
    if (hit) return this.hit('schema-by-id', hit);
    const body = (await this.call('schema-by-id', 'GET', `/schemas/ids/${id}`, `schema id ${id}`)) as SchemaAnswer;
    const s = toSchema(body, `schema id ${id}`, this.url);
    this.byId.set(id, s);
    return s;
  }

  /** GET /subjects/{s}/versions/{v}; a numbered version is cached, `latest` never is. */
  async version(subject: string, version: number | 'latest'): Promise<SubjectVersion> {
    const key = `${subject}\u0000${version}`;
    const hit = version === 'latest' ? undefined : this.versions.get(key);
    if (hit) return this.hit('version', hit);
    const what = `subject "${subject}" version ${version}`;
    const path = `/subjects/${encodeURIComponent(subject)}/versions/${version}`;
    const sv = toSubjectVersion(await this.call('version', 'GET', path, what), what, this.url);
    this.versions.set(`${subject}\u0000${sv.version}`, sv);
    this.byId.set(sv.id, sv);
    return sv;
  }

  /**
   * The id of `schema` under `subject`: from the cache, else registered (POST
   * /subjects/{s}/versions, `autoRegister`) or looked up (POST /subjects/{s}: not found is
   * TRIB_REGISTRY_NOT_FOUND). Registering an incompatible schema is TRIB_REGISTRY_INCOMPATIBLE.
   * A register answered 409 is looked up, and when not found registered once more, before it
   * counts as incompatible: Apicurio 2.4 answers registers that create subjects at the same time
   * (several sinks or slots opening at once) now and then with 409 "An artifact with ID … already
   * exists" for a subject that does not exist, and a later register of it succeeds.
   */
  async idFor(subject: string, schema: RegistrySchema, o: { autoRegister: boolean }): Promise<number> {
    // The same text with other references is another schema (its names resolve elsewhere).
    const key = `${subject}\u0000${schema.schemaType}\u0000${schema.schema}\u0000${JSON.stringify(schema.references ?? [])}`;
    const hit = this.idBySchema.get(key);
    if (hit) return this.hit('id-by-schema', hit).id;
    const body = JSON.stringify({
      schema: schema.schema,
      // Confluent omits schemaType for Avro; both registries take it either way.
      ...(schema.schemaType === 'AVRO' ? {} : { schemaType: schema.schemaType }),
      ...(schema.references?.length ? { references: schema.references } : {}),
    });
    const what = `subject "${subject}"`;
    const subj = `/subjects/${encodeURIComponent(subject)}`;
    let id: number;
    if (o.autoRegister) {
      const register = () => this.call('register', 'POST', `${subj}/versions`, what, body);
      const answer = (await register().catch(async (e: unknown) => {
        if (!isTributaryError(e, 'TRIB_REGISTRY_INCOMPATIBLE')) throw e;
        const found = await this.call('lookup', 'POST', subj, what, body).catch(() => undefined);
        return found === undefined ? register() : { id: toSubjectVersion(found, what, this.url).id };
      })) as { id?: unknown };
      if (typeof answer.id !== 'number') throw this.shapeError(what, answer);
      id = answer.id;
    } else {
      id = toSubjectVersion(await this.call('lookup', 'POST', subj, what, body), what, this.url).id;
    }
    this.idBySchema.set(key, { ...schema, subject, version: 0, id });
    this.byId.set(id, schema);
    return id;
  }

  async close(): Promise<void> {
    await this.dispatcher?.close();
  }

  private hit<T>(cache: string, v: T): T {
    this.o.metrics?.registryCacheHits.inc({ cache });
    return v;
  }

  private shapeError(what: string, answer: unknown): TributaryError {
    return new TributaryError(
      'TRIB_REGISTRY_RESPONSE',
      `schema registry ${this.url} answered ${what} with an unexpected body: ${JSON.stringify(answer).slice(0, 200)}`,
    );
  }

  /** One request with its retries; resolves to the parsed JSON body of a 2xx answer. */
  private async call(operation: string, method: 'GET' | 'POST', path: string, what: string, body?: string) {
    let lastErr: unknown;
    for (let attempt = 1; attempt <= this.attempts; attempt++) {
      if (attempt > 1) await sleep(jittered(Math.min(this.maxBackoffMs, this.backoffMs * 2 ** (attempt - 2))));
      let status: number;
      let text: string;
      try {
        const res = await request(`${this.url}${path}`, {
          method,
          headers: this.headers,
          body,
          dispatcher: this.dispatcher,
          signal: AbortSignal.timeout(this.timeoutMs),
        });
        status = res.statusCode;
        text = await res.body.text();
      } catch (err) {
        this.o.metrics?.registryRequests.inc({ operation, outcome: 'unreachable' });
        lastErr = err;
        continue;
      }
      if (status >= 200 && status < 300) {
        this.o.metrics?.registryRequests.inc({ operation, outcome: 'ok' });
        try {
          return JSON.parse(text) as unknown;
        } catch (err) {
          throw new TributaryError(
            'TRIB_REGISTRY_RESPONSE',
            `schema registry ${this.url} answered ${what} with non-JSON`,
            {
              cause: err,
            },
          );
        }
      }
      this.o.metrics?.registryRequests.inc({ operation, outcome: String(status) });
      lastErr = registryHttpError({ url: this.url, what, status, body: text, attempts: attempt });
      if (!isRetryableStatus(status)) throw lastErr;
    }
    if (isTributaryError(lastErr)) throw lastErr;
    const reason = lastErr instanceof Error ? `${lastErr.name}: ${lastErr.message}` : String(lastErr);
    throw new TributaryError(
      'TRIB_REGISTRY_UNAVAILABLE',
      `schema registry ${this.url} unreachable for ${what} after ${this.attempts} attempts (${reason})`,
      { cause: lastErr },
    );
  }
}

function toSchema(body: SchemaAnswer, what: string, url: string): RegistrySchema {
  if (typeof body.schema !== 'string') {
    throw new TributaryError('TRIB_REGISTRY_RESPONSE', `schema registry ${url} answered ${what} without a schema`);
  }
  const type = body.schemaType ?? 'AVRO';
  if (type !== 'AVRO' && type !== 'PROTOBUF' && type !== 'JSON') {
    throw new TributaryError(
      'TRIB_REGISTRY_RESPONSE',
      `schema registry ${url}: ${what} has schemaType ${String(type)}`,
    );
  }
  const refs = toReferences(body.references, what, url);
  return { schemaType: type, schema: body.schema, ...(refs.length ? { references: refs } : {}) };
}

/** A schema's `references`, each `{name, subject, version}` (version -1: the latest, as Confluent's clients write). */
function toReferences(raw: unknown, what: string, url: string): SchemaReference[] {
  if (raw === undefined || raw === null) return [];
  const ok = (r: unknown): r is SchemaReference => {
    const x = r as Partial<Record<keyof SchemaReference, unknown>> | null;
    return (
      typeof x === 'object' &&
      x !== null &&
      typeof x.name === 'string' &&
      x.name !== '' &&
      typeof x.subject === 'string' &&
      x.subject !== '' &&
      Number.isInteger(x.version) &&
      ((x.version as number) >= 1 || x.version === -1)
    );
  };
  if (!Array.isArray(raw) || !raw.every(ok)) {
    throw new TributaryError(
      'TRIB_REGISTRY_RESPONSE',
      `schema registry ${url} answered ${what} with references not of the form [{name, subject, version}]: ` +
        JSON.stringify(raw).slice(0, 200),
    );
  }
  return raw.map((r) => ({ name: r.name, subject: r.subject, version: r.version }));
}

function toSubjectVersion(raw: unknown, what: string, url: string): SubjectVersion {
  const body = raw as SchemaAnswer & { subject?: unknown; version?: unknown; id?: unknown };
  if (typeof body.id !== 'number' || typeof body.version !== 'number' || typeof body.subject !== 'string') {
    throw new TributaryError('TRIB_REGISTRY_RESPONSE', `schema registry ${url} answered ${what} without id/version`);
  }
  return { ...toSchema(body, what, url), subject: body.subject, version: body.version, id: body.id };
}
