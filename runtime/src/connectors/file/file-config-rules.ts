// Config rules of the file source and sink (`file:` under a source or a sink).
import type { ConnectorConfigRule, SinkConfigRule, SourceConfigRule } from '../../graph/connector-rules.ts';

/** `format: string|bytes` records are {value}; `json` records have the declared `schema`, if any. */
const source: SourceConfigRule = (c, s, p) => {
  c.keys(s, ['path', 'format', 'onError', 'schema'], p);
  c.string(s, 'path', p);
  c.oneOf(s, 'format', p, ['json', 'string', 'bytes']);
  c.oneOf(s, 'onError', p, ['skip', 'fail']);
  return s['format'] === 'string'
    ? { value: 'string' }
    : s['format'] === 'bytes'
      ? { value: 'dyn' }
      : c.schema(s['schema'], `${p}.schema`);
};

const sink: SinkConfigRule = {
  check(c, s, p) {
    c.keys(s, ['path'], p);
    c.string(s, 'path', p);
  },
};

export const fileConfigRules = { source, sink } satisfies ConnectorConfigRule;
