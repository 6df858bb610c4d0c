import { createHash } from 'node:crypto';
import { ErrorCodes, OperatorError, Resources, type KubeClient, type KubeObject } from '../../kube/index.ts';
import type { DruidDatasource } from '../../api/v1alpha1/druiddatasource.ts';
import { DruidClient } from '../../druid/client.ts';

type Secret = KubeObject & { data?: Record<string, string> };

export class CredentialsError extends OperatorError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCodes.DRUID_CREDENTIALS, message, options);
    this.name = 'CredentialsError';
  }
}

/**
 * One pooled DruidClient per (URL, credentials), shared by every datasource that points at
 * the same Druid, so 500 datasources do not open 500 connection pools.
 */
export class DruidClients {
  readonly #kube: KubeClient;
  readonly #clients = new Map<string, DruidClient>();

  constructor(kube: KubeClient) {
    this.#kube = kube;
  }

  async for(ds: DruidDatasource): Promise<DruidClient> {
    const ref = ds.spec.druid.basicAuthSecretRef;
    let basicAuth: { username: string; password: string } | undefined;
    if (ref) {
      let secret: Secret;
      try {
        secret = await this.#kube.get<Secret>(Resources.Secret, ds.metadata.namespace, ref.name);
      } catch (err) {
        throw new CredentialsError(
          `spec.druid.basicAuthSecretRef: cannot read Secret ${ds.metadata.namespace}/${ref.name}`,
          { cause: err },
        );
      }
      const read = (key: string, field: string): string => {
        const v = secret.data?.[key];
        if (v === undefined)
          throw new CredentialsError(`spec.druid.basicAuthSecretRef.${field}: Secret ${ref.name} has no key "${key}"`);
        return Buffer.from(v, 'base64').toString('utf8');
      };
      basicAuth = {
        username: read(ref.usernameKey ?? 'username', 'usernameKey'),
        password: read(ref.passwordKey ?? 'password', 'passwordKey'),
      };
    }
    const creds = basicAuth
      ? createHash('sha256').update(`${basicAuth.username}\0${basicAuth.password}`).digest('hex')
      : '';
    const id = `${ds.spec.druid.url}|${creds}`;
    let client = this.#clients.get(id);
    if (!client) {
      client = new DruidClient({ url: ds.spec.druid.url, ...(basicAuth ? { basicAuth } : {}) });
      this.#clients.set(id, client);
    }
    return client;
  }

  async close(): Promise<void> {
    await Promise.all([...this.#clients.values()].map((c) => c.close()));
    this.#clients.clear();
  }
}
