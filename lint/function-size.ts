// What the size rules measure, shared by the function rule (max-function-lines.ts) and the
// measuring script (measure-sizes.ts) so both count and name alike.
//
// A code line holds at least one token: blank lines and lines of comment only do not count
// (ESLint's `max-lines` with skipBlankLines and skipComments counts a file the same way).
//
// A function is named by what it is bound to: its declaration, a variable, a class member
// (`Class.member`), an object property (`object.key`), an assignment target (`this.onData`),
// prefixed by the measured function it sits in (`outer/inner`). Line numbers never enter a
// name, so an edit elsewhere in the file does not rename it. A function bound to nothing (a
// callback, a returned closure, an IIFE) is not measured on its own: its lines lie inside the
// function around it, which is. At module level, with no function around it, it takes the
// name of the variable the call it is passed to is bound to, else of that call (`process.on`).
import type { AST, SourceCode } from 'eslint';

/** The slice of an ESTree/TSESTree node this file reads; the rest is read by `field`. */
export interface AstNode {
  type: string;
  parent?: AstNode | null;
  loc?: AST.SourceLocation | null;
}

export const FUNCTION_TYPES = ['FunctionDeclaration', 'FunctionExpression', 'ArrowFunctionExpression'] as const;

// Expressions that only wrap a value: what they are bound to binds the value they wrap.
const WRAPPERS = new Set(['TSAsExpression', 'TSSatisfiesExpression', 'TSNonNullExpression', 'TSTypeAssertion']);
const CALLS = new Set(['CallExpression', 'NewExpression']);

function field(node: AstNode | null | undefined, key: string): AstNode | undefined {
  const v = (node as Record<string, unknown> | null | undefined)?.[key];
  return v !== null && typeof v === 'object' && 'type' in v ? (v as AstNode) : undefined;
}

function flag(node: AstNode, key: string): unknown {
  return (node as unknown as Record<string, unknown>)[key];
}

function isFunction(node: AstNode): boolean {
  return (FUNCTION_TYPES as readonly string[]).includes(node.type);
}

/** Per line number (1-based), whether the line is a code line. */
export function codeLines(sourceCode: SourceCode): boolean[] {
  const code: boolean[] = [];
  for (const token of sourceCode.ast.tokens) {
    for (let l = token.loc.start.line; l <= token.loc.end.line; l++) code[l] = true;
  }
  sourceCode.lines.forEach((text, i) => {
    if (text.trim() === '') code[i + 1] = false;
  });
  return code;
}

export function countCodeLines(code: readonly boolean[], from: number, to: number): number {
  let n = 0;
  for (let l = from; l <= to; l++) if (code[l] === true) n++;
  return n;
}

/** The node whose lines are the function's: a method's definition, so its key counts too. */
export function measuredNode(fn: AstNode): AstNode {
  const p = fn.parent;
  if (p === null || p === undefined || field(p, 'value') !== fn) return fn;
  if (p.type === 'MethodDefinition' || p.type === 'TSAbstractMethodDefinition') return p;
  if (p.type === 'Property' && (flag(p, 'method') === true || flag(p, 'kind') !== 'init')) return p;
  return fn;
}

function keyName(member: AstNode, sourceCode: SourceCode): string {
  const key = field(member, 'key');
  if (key === undefined) return '?';
  if (flag(member, 'computed') === true) return `[${sourceCode.getText(key as never)}]`;
  if (key.type === 'Identifier') return String(flag(key, 'name'));
  if (key.type === 'PrivateIdentifier') return `#${String(flag(key, 'name'))}`;
  return String(flag(key, 'value'));
}

/** The value's outermost wrapper (`x as T`, `x satisfies T`): the node its parent binds. */
function unwrap(node: AstNode): AstNode {
  let n = node;
  while (n.parent && WRAPPERS.has(n.parent.type)) n = n.parent;
  return n;
}

function boundName(value: AstNode, sourceCode: SourceCode): string | undefined {
  const v = unwrap(value);
  const p = v.parent;
  if (!p) return undefined;
  if (p.type === 'VariableDeclarator' && field(p, 'init') === v) {
    const id = field(p, 'id');
    return id?.type === 'Identifier' ? String(flag(id, 'name')) : undefined;
  }
  if (p.type === 'AssignmentExpression' && field(p, 'right') === v) {
    const left = field(p, 'left');
    return left ? sourceCode.getText(left as never).replace(/\s+/g, '') : undefined;
  }
  if (p.type === 'ExportDefaultDeclaration') return 'default';
  if (field(p, 'value') !== v) return undefined;
  if (p.type === 'Property') return `${objectPrefix(p.parent, sourceCode)}${keyName(p, sourceCode)}`;
  if (p.type === 'PropertyDefinition' || p.type === 'MethodDefinition' || p.type === 'TSAbstractMethodDefinition') {
    const kind = flag(p, 'kind');
    const accessor = kind === 'get' || kind === 'set' ? `${kind} ` : '';
    return `${className(p.parent?.parent, sourceCode)}.${accessor}${keyName(p, sourceCode)}`;
  }
  return undefined;
}

function className(cls: AstNode | null | undefined, sourceCode: SourceCode): string {
  if (!cls) return '(class)';
  const id = field(cls, 'id');
  if (id?.type === 'Identifier') return String(flag(id, 'name'));
  return boundName(cls, sourceCode) ?? '(class)';
}

/** `name.` for an object literal bound to a name (through `Object.freeze(...)` and the like). */
function objectPrefix(obj: AstNode | null | undefined, sourceCode: SourceCode): string {
  if (!obj) return '';
  let n = unwrap(obj);
  while (n.parent && CALLS.has(n.parent.type) && field(n.parent, 'callee') !== n) n = unwrap(n.parent);
  const name = boundName(n, sourceCode);
  return name === undefined ? '' : `${name}.`;
}

/** A module-level function bound to nothing: named by the variable or the call that takes it. */
function moduleLevelName(fn: AstNode, sourceCode: SourceCode): string {
  let n = unwrap(fn);
  if (n.parent && CALLS.has(n.parent.type) && field(n.parent, 'callee') === n) return '(iife)';
  let call: AstNode | undefined;
  while (n.parent && CALLS.has(n.parent.type) && field(n.parent, 'callee') !== n) {
    call ??= n.parent;
    n = unwrap(n.parent);
  }
  const bound = boundName(n, sourceCode);
  if (bound !== undefined) return bound;
  if (call === undefined) return '(anonymous)';
  const args = (call as unknown as { arguments: AstNode[] }).arguments;
  const first = args[0];
  const label =
    first?.type === 'Literal' && typeof flag(first, 'value') === 'string' ? `('${String(flag(first, 'value'))}')` : '';
  return `${sourceCode.getText(field(call, 'callee') as never).replace(/\s+/g, '')}${label}`;
}

function ownName(fn: AstNode, sourceCode: SourceCode): string | undefined {
  const id = field(fn, 'id');
  if (id?.type === 'Identifier') return String(flag(id, 'name'));
  return boundName(fn, sourceCode);
}

function enclosingFunction(node: AstNode): AstNode | undefined {
  for (let n = node.parent; n; n = n.parent) if (isFunction(n)) return n;
  return undefined;
}

/**
 * The name a function is measured under, or undefined when it is not measured on its own
 * (a callback or closure inside a measured function, whose lines that function counts).
 */
export function functionName(fn: AstNode, sourceCode: SourceCode): string | undefined {
  const own = ownName(fn, sourceCode);
  let outer = enclosingFunction(fn);
  if (outer === undefined) return own ?? moduleLevelName(fn, sourceCode);
  if (own === undefined) return undefined;
  for (; outer; outer = enclosingFunction(outer)) {
    const outerName = functionName(outer, sourceCode);
    if (outerName !== undefined) return `${outerName}/${own}`;
  }
  return own; // not reached: the outermost function always has a name
}
