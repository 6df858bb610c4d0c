// The optional components' names, apart from their definitions (addons.ts): the cluster's
// recorded state names its addons, and the Druid component records state, so the names
// cannot live beside the definitions without an import cycle.
export const knownAddons = ['kafka', 'druid', 's3', 'kudu', 'registry'] as const;

export type Addon = (typeof knownAddons)[number];
