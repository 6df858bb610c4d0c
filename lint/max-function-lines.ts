// A function fits on a screen: at most `max` code lines (function-size.ts says what counts and
// how a function is named). The functions that were longer when the rule came are listed with
// their count in the allow-list (lint/long-functions.ts, keyed `<path>#<name>`), and the list
// only shrinks: a listed function may not grow, and once it shrinks, is split or is gone, its
// entry must follow (lowered or removed) so nobody can grow it back. Entries are keyed by path
// and name, so moving a file or renaming a function is a one-line edit of the list.
import { existsSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import type { Rule } from 'eslint';
import {
  FUNCTION_TYPES,
  codeLines,
  countCodeLines,
  functionName,
  measuredNode,
  type AstNode,
} from './function-size.ts';

export interface MaxFunctionLinesOptions {
  /** Most code lines a function not on the list may have. */
  max: number;
  /** The repository root: the list's paths are relative to it. */
  root: string;
  /** `<path>#<name>` → the function's code lines when it was listed. */
  allowList: Record<string, number>;
  /** Where the list lives (relative to root): messages name it, and linting it checks its paths. */
  allowListFile: string;
}

export const maxFunctionLines: Rule.RuleModule = {
  meta: {
    type: 'suggestion',
    docs: { description: 'Limit code lines per function, with an allow-list that only shrinks' },
    schema: [
      {
        type: 'object',
        properties: {
          max: { type: 'integer', minimum: 1 },
          root: { type: 'string' },
          allowList: { type: 'object', additionalProperties: { type: 'integer', minimum: 1 } },
          allowListFile: { type: 'string' },
        },
        required: ['max', 'root', 'allowList', 'allowListFile'],
        additionalProperties: false,
      },
    ],
    messages: {
      tooLong: '{{name}} has {{count}} code lines, over the limit of {{max}}: split it.',
      grew: '{{name}} grew to {{count}} code lines; {{list}} records {{recorded}} and only shrinks: split it instead.',
      shrank: '{{name}} shrank to {{count}} code lines: lower its entry in {{list}} from {{recorded}} to {{count}}.',
      withinLimit: '{{name}} is within the limit now ({{count}} ≤ {{max}}): remove its entry from {{list}}.',
      gone: '{{list}} lists {{key}}, which this file no longer has: remove the entry, or rename it with the function.',
      fileGone: '{{path}} does not exist: remove the entry, or move it with its file.',
    },
  },

  create(context) {
    const { max, root, allowList, allowListFile } = context.options[0] as MaxFunctionLinesOptions;
    const sourceCode = context.sourceCode;
    const path = relative(root, context.filename).split(sep).join('/');
    const list = allowListFile;
    const code = codeLines(sourceCode);
    const seen = new Map<string, number>();

    function check(fn: AstNode): void {
      const base = functionName(fn, sourceCode);
      if (base === undefined) return;
      // Two functions of one name in a file (a nested helper in two places): the later ones
      // are told apart by their order.
      const nth = (seen.get(base) ?? 0) + 1;
      seen.set(base, nth);
      const name = nth === 1 ? base : `${base}~${nth}`;
      const node = measuredNode(fn);
      const count = countCodeLines(code, node.loc!.start.line, node.loc!.end.line);
      const recorded = allowList[`${path}#${name}`];
      const data = { name, count: String(count), max: String(max), recorded: String(recorded), list };
      const loc = (fn.type === 'ArrowFunctionExpression' ? node : fn).loc!;
      const at = { start: loc.start, end: loc.start };
      if (recorded === undefined) {
        if (count > max) context.report({ loc: at, messageId: 'tooLong', data });
      } else if (count <= max) {
        context.report({ loc: at, messageId: 'withinLimit', data });
      } else if (count > recorded) {
        context.report({ loc: at, messageId: 'grew', data });
      } else if (count < recorded) {
        context.report({ loc: at, messageId: 'shrank', data });
      }
    }

    function checkListedGone(): void {
      const names = new Set<string>();
      for (const [base, n] of seen) for (let i = 1; i <= n; i++) names.add(i === 1 ? base : `${base}~${i}`);
      for (const key of Object.keys(allowList)) {
        if (!key.startsWith(`${path}#`) || names.has(key.slice(path.length + 1))) continue;
        context.report({ loc: { line: 1, column: 0 }, messageId: 'gone', data: { key, list } });
      }
    }

    /** In the list itself: each entry's file exists (a moved or deleted file is linted nowhere else). */
    function checkListedFiles(program: AstNode): void {
      for (const literal of stringLiterals(program)) {
        const value = (literal as unknown as { value: string }).value;
        const hash = value.indexOf('#');
        if (hash <= 0 || existsSync(join(root, value.slice(0, hash)))) continue;
        context.report({ node: literal as never, messageId: 'fileGone', data: { path: value.slice(0, hash) } });
      }
    }

    const visitors: Rule.RuleListener = { 'Program:exit': checkListedGone };
    for (const type of FUNCTION_TYPES) visitors[type] = (node: unknown) => check(node as AstNode);
    if (path === allowListFile) visitors.Program = (node: unknown) => checkListedFiles(node as AstNode);
    return visitors;
  },
};

/** The property keys of the list's object literal: string literals that name `<path>#<name>`. */
function stringLiterals(program: AstNode): AstNode[] {
  const found: AstNode[] = [];
  const visit = (node: unknown): void => {
    if (node === null || typeof node !== 'object') return;
    if (Array.isArray(node)) return node.forEach(visit);
    const n = node as AstNode & Record<string, unknown>;
    if (n.type === 'Property' && (n.key as AstNode).type === 'Literal') found.push(n.key as AstNode);
    for (const [k, v] of Object.entries(n)) if (k !== 'parent' && k !== 'loc' && k !== 'range') visit(v);
  };
  visit(program);
  return found;
}
