// Connector rules for tests of graph/ alone (graph/ never imports connectors/): no config
// checks, and every source's records untyped. The connectors' own rules are tested beside them.
import type { ConnectorConfigRules, SinkConfigRule, SourceConfigRule } from '../connector-rules.ts';

const untyped: SourceConfigRule = () => undefined;
const anySink: SinkConfigRule = { check: () => {} };

export const UNTYPED_CONNECTOR_RULES: ConnectorConfigRules = {
  kafka: { source: untyped, sink: anySink },
  datagen: { source: untyped },
  file: { source: untyped, sink: anySink },
  collection: { source: untyped },
  druid: { source: untyped, sink: anySink },
  console: { sink: anySink },
  kudu: { source: untyped, sink: anySink },
};
