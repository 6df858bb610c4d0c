// A KubeClient that counts the LIST calls it makes (a GET of a collection without watch), per
// resource: the operator side of "watches only" in the operator bench. Watches and single-object
// GETs are not LISTs. Test and bench only.
import { KubeClient, type RequestOptions } from '../client.ts';
import { loadDefaultConnection } from '../kubeconfig.ts';

export class CountingClient extends KubeClient {
  /** LIST calls so far, by resource path without namespace (`api/v1/secrets`, `apis/<group>/<version>/<plural>`). */
  readonly lists = new Map<string, number>();
  /** Every request (watches aside) by `<METHOD> <resource path>` and its total time in ms. */
  readonly calls = new Map<string, { n: number; ms: number }>();

  static async forTestCluster(): Promise<CountingClient> {
    return new CountingClient(await loadDefaultConnection());
  }

  override request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const resource = method === 'GET' && !opts.query?.['watch'] ? collectionOf(path) : undefined;
    if (resource) this.lists.set(resource, (this.lists.get(resource) ?? 0) + 1);
    const what = `${resource ? 'LIST' : method} ${resource ?? kindOf(path)}`;
    const t0 = performance.now();
    const done = () => {
      const c = this.calls.get(what) ?? { n: 0, ms: 0 };
      c.n++;
      c.ms += performance.now() - t0;
      this.calls.set(what, c);
    };
    const p = super.request<T>(method, path, opts);
    p.then(done, done);
    return p;
  }

  /** Every LIST so far. */
  listTotal(): number {
    return [...this.lists.values()].reduce((a, b) => a + b, 0);
  }
}

/** The resource a path addresses, without namespace and name: `apis/tributary.dev/v1alpha1/streamjobs/status`. */
function kindOf(path: string): string {
  const seg = path.split('?')[0]!.split('/').filter(Boolean);
  const head = seg[0] === 'api' ? 2 : seg[0] === 'apis' ? 3 : 0;
  let rest = seg.slice(head);
  if (rest[0] === 'namespaces' && rest.length > 2) rest = rest.slice(2);
  return [...seg.slice(0, head), rest[0] ?? '', ...rest.slice(2)].filter(Boolean).join('/');
}

/** `api/v1/pods` for /api/v1/pods or /api/v1/namespaces/x/pods; undefined for a single object or anything else. */
function collectionOf(path: string): string | undefined {
  const seg = path.split('?')[0]!.split('/').filter(Boolean);
  const head = seg[0] === 'api' ? 2 : seg[0] === 'apis' ? 3 : 0;
  if (head === 0) return undefined;
  const rest = seg.slice(head);
  const plural = rest.length === 1 ? rest[0] : rest.length === 3 && rest[0] === 'namespaces' ? rest[2] : undefined;
  return plural ? [...seg.slice(0, head), plural].join('/') : undefined;
}
