import { describe, expect, it } from 'vitest';
import { handle, metadataOf, stateFile } from '../testing/checkpoint-folders.ts';
import type { CheckpointMetadata } from './metadata.ts';
import { referencedFiles } from './referenced-files.ts';

describe('the files a checkpoint references', () => {
  it('its bases and deltas, each in its own folder or the one `from` names', () => {
    const meta = metadataOf(7, [
      handle(0, stateFile('s.slot-0.kstate', 'chk-3'), [
        stateFile('s.slot-0.kdelta', 'chk-5'),
        stateFile('s.slot-0.kdelta'),
      ]),
      handle(1, stateFile('s.slot-1.kstate')),
    ]);
    expect([...referencedFiles(meta, 'chk-7')].sort()).toEqual([
      'chk-3/s.slot-0.kstate',
      'chk-5/s.slot-0.kdelta',
      'chk-7/s.slot-0.kdelta',
      'chk-7/s.slot-1.kstate',
    ]);
  });

  it('refuses what it cannot resolve, naming the checkpoint and the field', () => {
    const bad: [CheckpointMetadata, RegExp][] = [
      [
        metadataOf(7, [handle(0, stateFile('x', 'sp-3'))]),
        /checkpoint chk-7: .*operators\["s"\]\.keyed\[0\]\.from "sp-3" is not a checkpoint folder/,
      ],
      [metadataOf(7, [handle(0, stateFile('x', 'chk-3/..'))]), /keyed\[0\]\.from "chk-3\/\.\." is not/],
      [
        metadataOf(7, [handle(0, stateFile('x'), [stateFile('../y')])]),
        /keyed\[0\]\.deltas\[0\]\.file "\.\.\/y" is not a plain file name/,
      ],
      [metadataOf(7, [handle(0, stateFile('.hidden'))]), /keyed\[0\]\.file "\.hidden"/],
      [
        { ...metadataOf(7, []), operators: { s: { keyed: 'no' } } } as unknown as CheckpointMetadata,
        /operators\["s"\]\.keyed is not a list/,
      ],
      [metadataOf(7, [{ ...handle(0, stateFile('x')), deltas: {} } as never]), /keyed\[0\]\.deltas is not a list/],
    ];
    for (const [meta, message] of bad)
      expect(() => referencedFiles(meta, 'chk-7')).toThrow(
        expect.objectContaining({
          code: 'TRIB_RESTORE_METADATA_CORRUPT',
          message: expect.stringMatching(message) as unknown,
        }),
      );
  });
});
