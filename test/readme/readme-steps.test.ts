import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sectionSteps, withoutBlocksOf } from './readme-steps.ts';

const md = [
  '# Title',
  '',
  '## Other',
  '',
  '    not-this',
  '',
  '## Try it',
  'Some prose',
  '    indented prose continuation, not code',
  '',
  '    first --flag        # a comment stays in the command',
  '    # a comment line',
  '',
  '    second \\',
  '      --continued',
  '',
  'Or instead:',
  '',
  '```sh',
  '    fenced-is-not-read',
  '```',
  '',
  '    alternative',
  '',
  '## Next',
  '',
  '    not-this-either',
].join('\n');

describe('README steps', () => {
  it('reads the indented code blocks of one section, in order, with their line numbers', () => {
    expect(sectionSteps(md, 'Try it')).toEqual([
      { text: 'first --flag        # a comment stays in the command', line: 11, block: 0 },
      { text: 'second \\\n  --continued', line: 14, block: 0 },
      { text: 'alternative', line: 23, block: 1 },
    ]);
  });

  it('drops the blocks of the other alternative', () => {
    expect(withoutBlocksOf(sectionSteps(md, 'Try it'), /^alternative/).map((s) => s.line)).toEqual([11, 14]);
    expect(() => withoutBlocksOf(sectionSteps(md, 'Try it'), /^absent/)).toThrow(/README_FORMAT/);
  });

  it('names a missing section', () => {
    expect(() => sectionSteps(md, 'Nope')).toThrow('[README_FORMAT] README: no "## Nope" section');
  });

  it('finds both ways of running the operator in the real README', () => {
    const steps = sectionSteps(
      readFileSync(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8'),
      'On Kubernetes',
    );
    expect(steps.some((s) => s.text.startsWith('helm install '))).toBe(true);
    expect(steps.some((s) => s.text.startsWith('npm run operator '))).toBe(true);
    expect(steps.some((s) => s.text.startsWith('kubectl delete -f crds/examples/clicks.yaml'))).toBe(true);
  });
});
