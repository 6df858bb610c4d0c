// Work-queue keys: `namespace/name` for namespaced objects, `name` for cluster-scoped ones
// (client-go's MetaNamespaceKeyFunc). A key names an object, never an event.
import { ErrorCodes, OperatorError } from './errors.ts';
import type { KubeObject } from './api-resources.ts';

export interface ObjectRef {
  namespace: string | undefined;
  name: string;
}

export function keyOf(obj: KubeObject): string {
  const ns = obj.metadata?.namespace;
  const name = obj.metadata?.name ?? '';
  return ns ? `${ns}/${name}` : name;
}

export function keyFor(namespace: string | undefined, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}

export function parseKey(key: string): ObjectRef {
  const parts = key.split('/');
  if (parts.length === 1 && parts[0]) return { namespace: undefined, name: parts[0] };
  if (parts.length === 2 && parts[0] && parts[1]) return { namespace: parts[0], name: parts[1] };
  throw new OperatorError(ErrorCodes.INVALID_KEY, `invalid work-queue key ${JSON.stringify(key)}`);
}
