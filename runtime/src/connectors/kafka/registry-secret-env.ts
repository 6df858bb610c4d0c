// Where a slot process finds registry credentials a job names by Secret (`registry.basicAuth.
// secretRef`): the operator puts each key the job names into an environment variable of the
// slot pods (by `secretKeyRef`: the value never passes through the operator or the pod spec),
// and the runtime reads the same variable. Both sides derive the name from the Secret and the
// key, so they agree without a table. The TRIBUTARY_ prefix is the contract's, which a pod
// template's own env may not use (pod-template-rules.ts): a job cannot plant the value.
import { createHash } from 'node:crypto';

export const DEFAULT_USERNAME_KEY = 'username';
export const DEFAULT_PASSWORD_KEY = 'password';

export interface RegistrySecretRef {
  readonly name: string;
  readonly usernameKey?: string;
  readonly passwordKey?: string;
}

/** The variable holding key `key` of Secret `secret`: readable, and unique per (secret, key) by its hash. */
export function registrySecretEnvName(secret: string, key: string): string {
  const readable = `${secret}_${key}`
    .toUpperCase()
    .replace(/[^A-Z0-9]+/g, '_')
    .slice(0, 40);
  const hash = createHash('sha256').update(`${secret}\0${key}`).digest('hex').slice(0, 8).toUpperCase();
  return `TRIBUTARY_REGISTRY_SECRET_${readable}_${hash}`;
}

/** The two variables of a secretRef, with the Secret's keys they hold. */
export function registrySecretEnv(ref: RegistrySecretRef): {
  username: { env: string; key: string };
  password: { env: string; key: string };
} {
  const usernameKey = ref.usernameKey ?? DEFAULT_USERNAME_KEY;
  const passwordKey = ref.passwordKey ?? DEFAULT_PASSWORD_KEY;
  return {
    username: { env: registrySecretEnvName(ref.name, usernameKey), key: usernameKey },
    password: { env: registrySecretEnvName(ref.name, passwordKey), key: passwordKey },
  };
}
