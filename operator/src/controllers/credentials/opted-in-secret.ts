// Reading a Secret that a CR names as credentials, only if the Secret opted in (the label
// CREDENTIALS_LABEL: "true"). The read is a list with a label selector and a name field
// selector, so the API server filters: the data of a Secret without the label never reaches
// the operator (a get followed by a label check would already have carried it over the wire
// and into this process's memory). RBAC cannot express "only labelled Secrets"; this code
// path is the boundary, and it is the only place the operator reads a user-named Secret.
import { Resources, type KubeClient, type KubeObject } from '../../kube/index.ts';
import { CREDENTIALS_LABEL } from '../../api/v1alpha1/credentials-label.ts';
import { ControllerError, type ControllerErrorCode } from '../errors.ts';

export interface CredentialsSecret extends KubeObject {
  data?: Record<string, string>;
}

/** `label=true`, as a label selector. */
export const credentialsSelector = `${CREDENTIALS_LABEL}=true`;

/**
 * The Secret `namespace/name` if it carries `tributary.dev/credentials: "true"`. Throws a
 * ControllerError with `code` whose message names the Secret and the missing label when the
 * API server returns no such Secret (absent or unlabelled: the selector cannot tell them
 * apart, and telling them apart would mean reading the unlabelled one); other API failures
 * are wrapped with the same code.
 */
export async function readCredentialsSecret(
  kube: Pick<KubeClient, 'list'>,
  namespace: string,
  name: string,
  code: ControllerErrorCode,
  field: string,
  signal?: AbortSignal,
): Promise<CredentialsSecret> {
  let items: CredentialsSecret[];
  try {
    const list = await kube.list<CredentialsSecret>(Resources.Secret, namespace, {
      labelSelector: credentialsSelector,
      fieldSelector: `metadata.name=${name}`,
      ...(signal ? { signal } : {}),
    });
    items = list.items;
  } catch (err) {
    throw new ControllerError(code, `${field}: cannot read Secret ${namespace}/${name}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const secret = items.find((s) => s.metadata?.name === name);
  if (!secret)
    throw new ControllerError(
      code,
      `${field}: Secret ${namespace}/${name} not found with label ${CREDENTIALS_LABEL}: "true"; ` +
        `a Secret is used as credentials only once it carries that label`,
    );
  return secret;
}
