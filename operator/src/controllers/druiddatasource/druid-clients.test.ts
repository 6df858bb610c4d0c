import { describe, expect, it } from 'vitest';
import { KubeApiError, OperatorError, type KubeClient } from '../../kube/index.ts';
import { ControllerErrorCodes } from '../errors.ts';
import type { DruidDatasource } from '../../api/v1alpha1/druiddatasource.ts';
import { CredentialsError, DruidClients } from './druid-clients.ts';

const ds = (druid: Record<string, unknown>) =>
  ({
    metadata: { name: 'd', namespace: 'n' },
    spec: { druid: { url: 'https://127.0.0.1:1', basicAuthSecretRef: { name: 'creds' }, ...druid } },
  }) as unknown as DruidDatasource;
const queries: unknown[] = [];
const kubeListing = (list: () => Promise<unknown>) =>
  ({
    list: (_rt: unknown, _ns: unknown, opts: unknown) => {
      queries.push(opts);
      return list();
    },
  }) as unknown as KubeClient;
const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('DruidClients credentials', () => {
  it('reads the Secret by a label-selected list: the API server filters out Secrets that did not opt in', async () => {
    queries.length = 0;
    const secret = { metadata: { name: 'creds' }, data: { username: b64('u'), password: b64('p') } };
    const clients = new DruidClients(kubeListing(() => Promise.resolve({ items: [secret] })));
    await clients.for(ds({}));
    expect(queries).toEqual([
      { labelSelector: 'tributary.dev/credentials=true', fieldSelector: 'metadata.name=creds' },
    ]);
    await clients.close();
  });

  it('a Secret without the opt-in label is refused, naming the Secret and the label', async () => {
    const err = await new DruidClients(kubeListing(() => Promise.resolve({ items: [] })))
      .for(ds({}))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CredentialsError);
    expect((err as CredentialsError).reason).toBe('CredentialsUnavailable');
    expect((err as Error).message).toContain('Secret n/creds');
    expect((err as Error).message).toContain('tributary.dev/credentials: "true"');
  });

  it('an API failure is a CredentialsError (OPERATOR_DRUID_CREDENTIALS) with the API error in its cause chain', async () => {
    const cause = new KubeApiError(403, 'forbidden', { reason: 'Forbidden' });
    const err = await new DruidClients(kubeListing(() => Promise.reject(cause))).for(ds({})).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CredentialsError);
    expect(err).toBeInstanceOf(OperatorError);
    expect((err as CredentialsError).code).toBe(ControllerErrorCodes.DRUID_CREDENTIALS);
    expect(((err as Error).cause as Error).cause).toBe(cause);
  });

  it('a Secret without the key is a CredentialsError naming the field', async () => {
    const err = await new DruidClients(
      kubeListing(() => Promise.resolve({ items: [{ metadata: { name: 'creds' }, data: { username: b64('u') } }] })),
    )
      .for(ds({}))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CredentialsError);
    expect((err as Error).message).toContain('passwordKey');
  });

  it('credentials for a plain-http url are refused before any Secret is read, unless allowInsecure', async () => {
    queries.length = 0;
    const secret = { metadata: { name: 'creds' }, data: { username: b64('u'), password: b64('p') } };
    const kube = kubeListing(() => Promise.resolve({ items: [secret] }));
    const err = await new DruidClients(kube).for(ds({ url: 'http://druid:8888' })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CredentialsError);
    expect((err as CredentialsError).reason).toBe('InsecureCredentials');
    expect((err as Error).message).toContain('spec.druid.allowInsecure');
    expect(queries).toEqual([]);
    const clients = new DruidClients(kube);
    await expect(clients.for(ds({ url: 'http://druid:8888', allowInsecure: true }))).resolves.toBeDefined();
    await clients.close();
  });
});
