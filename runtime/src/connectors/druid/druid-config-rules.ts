// Config rules of the Druid source (`druid:` under a source: a SQL query, read as a stream or
// as a lookup step's table) and the Druid sink (`druid:` under a sink: rows for a
// DruidDatasource, written to its Kafka topic, which the operator fills in as `kafka`).
import { isObj, show } from '../../graph/checker.ts';
import type { ConnectorConfigRule, SinkConfigRule, SourceConfigRule } from '../../graph/connector-rules.ts';
import { checkBrokers, checkDelivery } from '../kafka/kafka-config-rules.ts';

/** Column types come from Druid at run time: unknown here (dyn). */
const source: SourceConfigRule = (c, s, p) => {
  c.keys(s, ['url', 'query', 'refresh', 'timeout', 'unavailableTimeout'], p);
  const url = c.string(s, 'url', p);
  if (url !== undefined && !/^https?:\/\/[^/]/.test(url))
    c.add(`${p}.url`, `expected an http(s) URL of a Druid router or broker, got ${show(url)}`);
  c.string(s, 'query', p);
  c.duration(s, 'refresh', p, { positive: true });
  c.duration(s, 'timeout', p, { positive: true });
  c.duration(s, 'unavailableTimeout', p, { positive: true });
  return undefined;
};

const sink: SinkConfigRule = {
  check(c, s, p) {
    c.keys(s, ['datasourceRef', 'kafka', 'timestamp', 'transactionalIdPrefix', 'delivery'], p);
    c.string(s, 'datasourceRef', p);
    checkDelivery(c, s, p);
    c.string(s, 'transactionalIdPrefix', p, false);
    const k = s['kafka'];
    if (k !== undefined) {
      if (!isObj(k)) c.add(`${p}.kafka`, `expected {brokers, topic} (the datasource's topic), got ${show(k)}`);
      else {
        c.keys(k, ['brokers', 'topic'], `${p}.kafka`);
        checkBrokers(c, k, `${p}.kafka`);
        c.string(k, 'topic', `${p}.kafka`);
      }
    }
    const t = s['timestamp'];
    if (t !== undefined) {
      if (!isObj(t)) c.add(`${p}.timestamp`, `expected {column, format?}, got ${show(t)}`);
      else {
        c.keys(t, ['column', 'format'], `${p}.timestamp`);
        c.string(t, 'column', `${p}.timestamp`);
        c.oneOf(t, 'format', `${p}.timestamp`, ['millis', 'iso', 'auto', 'posix', 'micro', 'nano']);
      }
    }
  },
};

export const druidConfigRules = { source, sink } satisfies ConnectorConfigRule;
