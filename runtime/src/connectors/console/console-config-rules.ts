// Config rules of the console sink (`console:` under a sink; `console: {}` or empty).
import { show } from '../../graph/checker.ts';
import type { ConnectorConfigRule, SinkConfigRule } from '../../graph/connector-rules.ts';

const sink: SinkConfigRule = {
  check(c, s, p) {
    c.keys(s, ['prefix'], p);
    if (s['prefix'] !== undefined && typeof s['prefix'] !== 'boolean')
      c.add(`${p}.prefix`, `expected true or false, got ${show(s['prefix'])}`);
  },
};

export const consoleConfigRules = { sink } satisfies ConnectorConfigRule;
