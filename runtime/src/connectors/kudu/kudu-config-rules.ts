// Config rules of the Kudu sink (`kudu:` under a sink): the masters, an existing table, the
// batch size and the per-operation timeout. The table's schema is checked at start, against
// the real table (the graph cannot know it).
import { show } from '../../graph/checker.ts';
import type { ConnectorConfigRule, SinkConfigRule } from '../../graph/connector-rules.ts';

const sink: SinkConfigRule = {
  check(c, s, p) {
    c.keys(s, ['masters', 'table', 'batchSize', 'timeout'], p);
    const m = s['masters'];
    const list = typeof m === 'string' ? m.split(',') : Array.isArray(m) ? m : undefined;
    if (
      !list ||
      list.length === 0 ||
      !list.every((x) => typeof x === 'string' && /^\[?[^\s\]]+\]?(:\d{1,5})?$/.test(x.trim()))
    ) {
      c.add(`${p}.masters`, `expected "host:port" of a Kudu master or a list of them, got ${show(m)}`);
    }
    c.string(s, 'table', p);
    c.number(s, 'batchSize', p, { integer: true, min: 1 });
    c.duration(s, 'timeout', p, { positive: true });
  },
};

export const kuduConfigRules = { sink } satisfies ConnectorConfigRule;
