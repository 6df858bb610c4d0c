// `fn(expr)` strings of an aggregate step, parsed once.
import { AGGREGATE_FUNCTIONS, type AggregateFunction } from './spec.ts';

export interface AggregateCall {
  output: string;
  fn: AggregateFunction;
  /** The argument expression; undefined only for count(). */
  expr: string | undefined;
}

const CALL = /^\s*([A-Za-z]+)\s*\(([\s\S]*)\)\s*$/;

export function parseAggregateCall(output: string, text: unknown): AggregateCall | string {
  if (typeof text !== 'string')
    return `expected "fn(expr)" with fn one of ${AGGREGATE_FUNCTIONS.join(', ')}, got ${JSON.stringify(text)}`;
  const m = CALL.exec(text);
  if (!m) return `expected "fn(expr)" with fn one of ${AGGREGATE_FUNCTIONS.join(', ')}, got ${JSON.stringify(text)}`;
  const fn = m[1] as string;
  const arg = (m[2] as string).trim();
  if (!(AGGREGATE_FUNCTIONS as readonly string[]).includes(fn)) {
    return `unknown aggregate function "${fn}"; expected one of ${AGGREGATE_FUNCTIONS.join(', ')}`;
  }
  if (fn === 'count') {
    if (arg !== '') return 'count() takes no argument';
    return { output, fn: 'count', expr: undefined };
  }
  if (arg === '') return `${fn}() needs an argument expression, e.g. ${fn}(price)`;
  return { output, fn: fn as AggregateFunction, expr: arg };
}
