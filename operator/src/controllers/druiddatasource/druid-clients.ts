// The DruidClient a DruidDatasource syncs through: its URL and, when basicAuthSecretRef is
// set, credentials from a Secret that opted in (credentials/opted-in-secret.ts), sent only
// over https unless the CR says spec.druid.allowInsecure.
import { createHash } from 'node:crypto';
import type { KubeClient } from '../../kube/index.ts';
import type { DruidDatasource } from '../../api/v1alpha1/druiddatasource.ts';
import { DruidClient } from '../../druid/client.ts';
import { readCredentialsSecret } from '../credentials/opted-in-secret.ts';
import { ControllerError, ControllerErrorCodes } from '../errors.ts';

/** Why credentials cannot be used: the status reason. */
export type CredentialsReason = 'CredentialsUnavailable' | 'InsecureCredentials';

export class CredentialsError extends ControllerError {
  readonly reason: CredentialsReason;

  constructor(message: string, options?: { cause?: unknown; reason?: CredentialsReason }) {
    super(ControllerErrorCodes.DRUID_CREDENTIALS, message, options);
    this.name = 'CredentialsError';
    this.reason = options?.reason ?? 'CredentialsUnavailable';
  }
}

/**
 * One pooled DruidClient per (URL, credentials), shared by every datasource that points at
 * the same Druid, so 500 datasources do not open 500 connection pools.
 */
export class DruidClients {
  readonly #kube: Pick<KubeClient, 'list'>;
  readonly #clients = new Map<string, DruidClient>();

  constructor(kube: Pick<KubeClient, 'list'>) {
    this.#kube = kube;
  }

  async for(ds: DruidDatasource): Promise<DruidClient> {
    const ref = ds.spec.druid.basicAuthSecretRef;
    let basicAuth: { username: string; password: string } | undefined;
    if (ref) {
      // Refused before the Secret is read: nothing is fetched that could not be sent.
      if (new URL(ds.spec.druid.url).protocol !== 'https:' && ds.spec.druid.allowInsecure !== true)
        throw new CredentialsError(
          `spec.druid.url: credentials (spec.druid.basicAuthSecretRef) are sent only over https; ` +
            `use an https url or set spec.druid.allowInsecure: true`,
          { reason: 'InsecureCredentials' },
        );
      const field = 'spec.druid.basicAuthSecretRef';
      let secret;
      try {
        secret = await readCredentialsSecret(
          this.#kube,
          ds.metadata.namespace,
          ref.name,
          ControllerErrorCodes.DRUID_CREDENTIALS,
          field,
        );
      } catch (err) {
        throw new CredentialsError((err as Error).message, { cause: err });
      }
      const read = (key: string, sub: string): string => {
        const v = secret.data?.[key];
        if (v === undefined) throw new CredentialsError(`${field}.${sub}: Secret ${ref.name} has no key "${key}"`);
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
