// Kafka identities that tenants of one cluster must not share: transactional ids (a producer
// with the same id fences the other's transactions) and consumer group ids. A slot started by
// the operator has a scope, its StreamJob's namespace, and every such id begins `<scope>.`:
// a same-named job in another namespace gets other ids, and a Kafka admin can grant each
// namespace its ids with one prefixed ACL. A Kubernetes namespace holds no ".", so the scope
// ends where the first "." is. Jobs without a scope (`tributary run`) keep the bare ids.

/** `id` qualified by `scope` (`<scope>.<id>`), or `id` itself without a scope. */
export function scopedKafkaId(scope: string | undefined, id: string): string {
  return scope ? `${scope}.${id}` : id;
}
