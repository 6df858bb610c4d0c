// Typing a Kafka source's fields from its schema registry, for a caller outside the engine: the
// operator's admission (operator/src/controllers/streamjob/registry-admission.ts) fetches a
// subject's version, resolves its references and checks the graph's expressions against the
// field types, as `tributary validate` does (registry-reader-types.ts). This file is the
// registry's entry on the list of runtime files the operator may import (.dependency-cruiser.js,
// docs/layout.md): it loads the registry client and the schema parsers, never kafkajs.
export { isRegistryFormat } from './registry-config-rules.ts';
export { SchemaRegistryClient } from '../../formats/registry/client.ts';
export { resolveReferences } from '../../formats/registry/references.ts';
export { registryFieldTypes } from '../../formats/field-types.ts';
