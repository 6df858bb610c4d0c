// Config rules of the Kafka source and sink (`kafka:` under a source or a sink). No kafkajs
// here: the operator loads these rules to validate a StreamJob's graph.
import { show, type Checker, type Obj } from '../../graph/checker.ts';
import { formatDuration, parseDuration } from '../../graph/duration.ts';
import { BROKERS_UNREACHABLE_FAIL_MS } from './broker-reachability.ts';
import type { ConnectorConfigRule, SinkConfigRule, SourceConfigRule } from '../../graph/connector-rules.ts';
import { checkRegistry, inlineReaderTypes, isRegistryFormat, REGISTRY_FORMATS } from './registry-config-rules.ts';
import { checkKeyFormat, withKeyField } from './registry-key-rules.ts';

/** `brokers`: "host:port" or a non-empty list of them (also the Druid sink's `kafka.brokers`). */
export function checkBrokers(c: Checker, o: Obj, path: string): void {
  const b = o['brokers'];
  if (
    !(typeof b === 'string' && b !== '') &&
    !(Array.isArray(b) && b.length > 0 && b.every((x) => typeof x === 'string'))
  ) {
    c.add(`${path}.brokers`, `expected "host:port" or a list of them, got ${show(b)}`);
  }
}

/** `delivery`: exactly-once or at-least-once (the Kafka sink's, also the Druid sink's). */
export function checkDelivery(c: Checker, o: Obj, path: string): void {
  const d = o['delivery'];
  if (d !== undefined && d !== 'exactly-once' && d !== 'at-least-once')
    c.add(`${path}.delivery`, `expected exactly-once or at-least-once, got ${JSON.stringify(d)}`);
}

/**
 * `requestTimeout`: a positive duration, at most the `brokerUnreachableTimeout` (given or its default
 * 30 s) that waits for brokers which do not answer: a longer one would let one unanswered request
 * outlast the whole bound.
 */
function checkRequestTimeout(c: Checker, o: Obj, path: string): void {
  c.duration(o, 'requestTimeout', path, { positive: true });
  const request = parseDuration(o['requestTimeout']);
  const bound = parseDuration(o['brokerUnreachableTimeout']) ?? BROKERS_UNREACHABLE_FAIL_MS;
  if (request !== undefined && request > bound)
    c.add(
      `${path}.requestTimeout`,
      `${formatDuration(request)} is longer than brokerUnreachableTimeout ${formatDuration(bound)}: one unanswered request would outlast the bound; shorten it or raise brokerUnreachableTimeout`,
    );
}

/** `format: string|bytes` records are {value, key}; json's and the registry formats' have the declared `schema`. */
const source: SourceConfigRule = (c, s, p) => {
  c.keys(
    s,
    [
      'brokers',
      'topic',
      'groupId',
      'startFrom',
      'bounded',
      'format',
      'registry',
      'keyFormat',
      'keyField',
      'onError',
      'deadLetterTopic',
      'clientId',
      'schema',
      'partitionDiscoveryInterval',
      'brokerUnreachableTimeout',
      'topicMissingTimeout',
      'requestTimeout',
    ],
    p,
  );
  checkBrokers(c, s, p);
  c.string(s, 'topic', p);
  c.duration(s, 'partitionDiscoveryInterval', p);
  c.duration(s, 'brokerUnreachableTimeout', p, { positive: true });
  c.duration(s, 'topicMissingTimeout', p);
  checkRequestTimeout(c, s, p);
  c.string(s, 'groupId', p, false);
  c.string(s, 'clientId', p, false);
  c.oneOf(s, 'startFrom', p, ['earliest', 'latest']);
  c.oneOf(s, 'bounded', p, ['latest']);
  c.oneOf(s, 'format', p, ['json', 'string', 'bytes', ...REGISTRY_FORMATS]);
  checkRegistry(c, s, p, 'source');
  checkKeyFormat(c, s, p, 'source');
  const onError = c.oneOf(s, 'onError', p, ['skip', 'deadLetter']);
  if (onError === 'deadLetter') c.string(s, 'deadLetterTopic', p);
  if (s['format'] === 'string' || s['format'] === 'bytes')
    return { value: s['format'] === 'string' ? 'string' : 'dyn', key: 'dyn' };
  // A declared schema wins; else a registry format's inline reader schema types the records (with the key's field).
  const declared = s['schema'] !== undefined;
  return withKeyField(
    c,
    s,
    p,
    declared
      ? c.schema(s['schema'], `${p}.schema`, { integers: isRegistryFormat(s['format']) })
      : inlineReaderTypes(c, s, p),
    declared,
  );
};

const sink: SinkConfigRule = {
  check(c, s, p) {
    c.keys(
      s,
      [
        'brokers',
        'topic',
        'key',
        'format',
        'registry',
        'keyFormat',
        'clientId',
        'delivery',
        'transactionalIdPrefix',
        'transactionTimeoutMs',
        'brokerUnreachableTimeout',
        'requestTimeout',
        'retries',
      ],
      p,
    );
    c.duration(s, 'brokerUnreachableTimeout', p, { positive: true });
    checkRequestTimeout(c, s, p);
    // At least 1: kafkajs refuses an idempotent (exactly-once) producer without retries.
    c.number(s, 'retries', p, { min: 1, integer: true });
    checkDelivery(c, s, p);
    c.string(s, 'transactionalIdPrefix', p, false);
    if (
      s['transactionTimeoutMs'] !== undefined &&
      (typeof s['transactionTimeoutMs'] !== 'number' ||
        !Number.isInteger(s['transactionTimeoutMs']) ||
        s['transactionTimeoutMs'] < 1000)
    ) {
      c.add(`${p}.transactionTimeoutMs`, 'expected an integer number of milliseconds ≥ 1000');
    }
    checkBrokers(c, s, p);
    c.string(s, 'topic', p);
    c.oneOf(s, 'format', p, ['json', 'string', ...REGISTRY_FORMATS]);
    checkRegistry(c, s, p, 'sink');
    checkKeyFormat(c, s, p, 'sink');
    c.string(s, 'clientId', p, false);
  },
  /** `key`: a CEL expression over the sink's input records. */
  checkTyped(c, s, p, input) {
    if (s['key'] !== undefined) c.expr(s['key'], `${p}.key`, input);
  },
};

export const kafkaConfigRules = { source, sink } satisfies ConnectorConfigRule;
