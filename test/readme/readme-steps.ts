// The commands of one README section, as a user would copy them: the lines of its indented
// (4-space) code blocks, in order, each with its README line number so a failure names it.
// Invariants: only indented code blocks of that section are read (fenced blocks and prose
// never); a command continued with a trailing backslash is one step; blank lines and shell
// comment lines are not steps; the text of a step is exactly what the README shows.
import { ReadmeError } from './errors.ts';

export interface ReadmeStep {
  /** The command exactly as written (continuation lines joined with their newlines). */
  readonly text: string;
  /** 1-based line number in the README. */
  readonly line: number;
  /** Index of the code block within the section: alternatives are told apart by block. */
  readonly block: number;
}

/** The steps of the `## <title>` section, up to the next `## ` heading. */
export function sectionSteps(markdown: string, title: string): ReadmeStep[] {
  const lines = markdown.split('\n');
  const start = lines.findIndex((l) => l.trim() === `## ${title}`);
  if (start < 0) throw new ReadmeError('README_FORMAT', `README: no "## ${title}" section`);
  const steps: ReadmeStep[] = [];
  let block = -1;
  let inBlock = false;
  let inFence = false;
  let prevBlank = true;
  let pending: { text: string; line: number } | undefined;
  for (let i = start + 1; i < lines.length; i++) {
    const raw = lines[i] ?? '';
    if (raw.startsWith('## ')) break;
    if (raw.startsWith('```')) inFence = !inFence;
    const blank = raw.trim() === '';
    // An indented block starts after a blank line (it cannot interrupt a paragraph) and runs
    // until a line that is neither blank nor indented.
    if (!inFence && raw.startsWith('    ') && (inBlock || prevBlank)) {
      if (!inBlock) block++;
      inBlock = true;
      const code = raw.slice(4);
      if (pending) pending.text += `\n${code}`;
      else if (code.trim() !== '' && !code.trim().startsWith('#')) pending = { text: code, line: i + 1 };
      if (pending && !code.endsWith('\\')) {
        steps.push({ text: pending.text, line: pending.line, block });
        pending = undefined;
      }
    } else if (!blank) {
      inBlock = false;
    }
    prevBlank = blank;
  }
  if (pending)
    throw new ReadmeError(
      'README_FORMAT',
      `README.md:${pending.line}: the command ends with a backslash and nothing follows`,
    );
  return steps;
}

/** The steps without the code blocks that hold a step matching `drop` (the other alternative). */
export function withoutBlocksOf(steps: readonly ReadmeStep[], drop: RegExp): ReadmeStep[] {
  const blocks = new Set(steps.filter((s) => drop.test(s.text)).map((s) => s.block));
  if (blocks.size === 0) throw new ReadmeError('README_FORMAT', `README: no command matches ${drop}`);
  return steps.filter((s) => !blocks.has(s.block));
}
