// Full validation of a job graph: the graph rules (graph/validate.ts) with the config rules
// of every connector kind. The one entry point for the CLI, the slot processes, the
// DataStream API and the operator; graph/ cannot hold it because it never imports
// connectors/. Only config-rule modules are imported here, no connector implementation, so
// the operator validates without loading kafkajs. A new connector adds its rules to the table.
import type { ValidationIssue } from '../errors.ts';
import type { ConnectorConfigRules } from '../graph/connector-rules.ts';
import { checkGraphWith, validateGraphWith, type ValidatedGraph } from '../graph/validate.ts';
import { collectionConfigRules } from './collection/collection-config-rules.ts';
import { consoleConfigRules } from './console/console-config-rules.ts';
import { datagenConfigRules } from './datagen/datagen-config-rules.ts';
import { druidConfigRules } from './druid/druid-config-rules.ts';
import { fileConfigRules } from './file/file-config-rules.ts';
import { kafkaConfigRules } from './kafka/kafka-config-rules.ts';
import { kuduConfigRules } from './kudu/kudu-config-rules.ts';

/** Paths of everything in a (raw) graph that names a function of the job's code (a graph alone cannot run them). */
export { functionReferences } from '../graph/function-step-rules.ts';

/** By connector kind, as the kinds appear in a source or a sink (spec.ts). */
export const CONNECTOR_CONFIG_RULES: ConnectorConfigRules = {
  kafka: kafkaConfigRules,
  datagen: datagenConfigRules,
  file: fileConfigRules,
  collection: collectionConfigRules,
  druid: druidConfigRules,
  console: consoleConfigRules,
  kudu: kuduConfigRules,
};

/** Validates and returns the graph with per-node metadata; throws TRIB_GRAPH_INVALID listing every issue. */
export function validateGraph(raw: unknown, pathPrefix = 'graph'): ValidatedGraph {
  return validateGraphWith(raw, CONNECTOR_CONFIG_RULES, pathPrefix);
}

/** Non-throwing form: `graph` is set only when there are no issues. */
export function checkGraph(raw: unknown, pathPrefix = 'graph'): { graph?: ValidatedGraph; issues: ValidationIssue[] } {
  return checkGraphWith(raw, CONNECTOR_CONFIG_RULES, pathPrefix);
}
