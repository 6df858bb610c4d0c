// Which DruidDatasource a Druid supervisor belongs to. Datasource names (and supervisor ids)
// are global in a Druid cluster while DruidDatasources are namespaced, so two objects (in two
// namespaces, or two in one) can name the same datasource. The owner is recorded in the
// supervisor spec itself, `context["tributary.dev/owner"]: "<namespace>/<name>"` (Druid keeps
// a supervisor's context and hands it to its tasks, which ignore keys they do not know), and
// an object that finds another owner there is refused (status ClaimedElsewhere) and never
// updates, suspends, resumes or terminates that supervisor. A supervisor without the marker
// is claimed only by the object whose status already names it (one made before the marker
// existed); one made outside the operator is never adopted. Pure.
import type { DruidDatasource } from '../../api/v1alpha1/druiddatasource.ts';
import type { SupervisorSpec } from '../../druid/types.ts';

export const OWNER_CONTEXT_KEY = 'tributary.dev/owner';

/** `<namespace>/<name>`: the identity recorded in the supervisors a DruidDatasource owns. */
export function claimantOf(ds: Pick<DruidDatasource, 'metadata'>): string {
  return `${ds.metadata.namespace}/${ds.metadata.name}`;
}

/** `spec` with the owner marker set last (specOverrides cannot replace it). */
export function withOwnerMarker(spec: SupervisorSpec, ds: Pick<DruidDatasource, 'metadata'>): SupervisorSpec {
  const context = isObject(spec.context) ? spec.context : {};
  return { ...spec, context: { ...context, [OWNER_CONTEXT_KEY]: claimantOf(ds) } };
}

/** The owner a live supervisor records, if any. */
export function recordedOwner(live: SupervisorSpec): string | undefined {
  const owner = isObject(live.context) ? live.context[OWNER_CONTEXT_KEY] : undefined;
  return typeof owner === 'string' ? owner : undefined;
}

/**
 * Undefined when `ds` may manage the live supervisor `id`; otherwise why not (the status
 * message): another owner is recorded, or none is and `ds` never synced it.
 */
export function claimConflict(
  ds: Pick<DruidDatasource, 'metadata' | 'status'>,
  id: string,
  live: SupervisorSpec | undefined,
): string | undefined {
  if (live === undefined) return undefined;
  const owner = recordedOwner(live);
  if (owner === claimantOf(ds)) return undefined;
  if (owner !== undefined)
    return (
      `Druid supervisor ${id} belongs to DruidDatasource ${owner} (context "${OWNER_CONTEXT_KEY}"); ` +
      `datasource names are global in Druid: choose another spec.dataSource`
    );
  if (ds.status?.supervisorId === id) return undefined;
  return (
    `Druid supervisor ${id} exists and was not created by Tributary for this object (no "${OWNER_CONTEXT_KEY}" ` +
    `in its context); it is not adopted: choose another spec.dataSource or remove that supervisor`
  );
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
