// `tributary state gc <stateDir> [--retained N]`: the retention a running job applies after each
// checkpoint (checkpoint/checkpoint-retention.ts), once, for a STOPPED job's state directory (a
// folder or s3://bucket/prefix): a job stopped with Retain, or one whose pruning was stopped by an
// unreadable metadata that has since been dealt with. It prints what it removed and what it kept.
//
// It prunes as for a stopped job (PruneOptions.stopped): nothing claims files for checkpoints in
// progress, and folders above the newest completed checkpoint are abandoned, so a running job's
// state must not be collected: a local folder is locked as `tributary run` locks it (a running local run
// refuses the command with TRIB_STATE_LOCKED); an s3:// location cannot be checked, the usage says so.
// Exit codes (run-cli.ts): 0 done, 1 refused by the storage or an unreadable metadata (nothing
// removed), 2 bad usage.
import { existsSync } from 'node:fs';
import { CheckpointStorage } from '../checkpoint/checkpoint-storage.ts';
import type { PruneResult } from '../checkpoint/checkpoint-retention.ts';
import { DEFAULT_RETAINED_CHECKPOINTS } from '../checkpoint/defaults.ts';
import { ID_MARK_FILE } from '../checkpoint/checkpoint-id-mark.ts';
import { stateStoreFor } from '../checkpoint/storage/state-store-for.ts';
import { isS3Uri, normalizeLocation } from '../checkpoint/storage/state-uri.ts';
import { TributaryError } from '../errors.ts';
import { lockStateDir } from './state-dir-lock.ts';

export const STATE_GC_USAGE = `usage:
  tributary state gc <stateDir> [--retained N]

  Removes from a STOPPED job's state directory (a folder or s3://bucket/prefix) what retention would:
  keeps the newest N completed checkpoints whole, and in older checkpoint folders every file those
  still reference (incremental checkpoints share files); removes the other checkpoints' _metadata.json
  first, then every file no kept checkpoint references, then folders left empty. Since no slot runs,
  folders above the newest completed checkpoint (a crash between upload and commit) go too, and so do
  files of kept folders no checkpoint references (a compacted base). Savepoints are not touched. A
  metadata it cannot read removes nothing.
  Never on the state of a running job (a local one holds the folder's lock; on S3 nothing can tell).
  A location without checkpoints/, savepoints/ or _checkpoint-id is refused: not a job's state.
  --retained N   completed checkpoints to keep (an integer ≥ 1; default ${DEFAULT_RETAINED_CHECKPOINTS})`;

function usage(message: string): never {
  throw new TributaryError('TRIB_CLI_USAGE', `${message}\n${STATE_GC_USAGE}`);
}

export interface StateGcArgs {
  stateDir: string;
  retained: number;
}

/** Arguments after `state`; undefined for help. */
export function parseStateGcArgs(argv: readonly string[]): StateGcArgs | undefined {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === 'help' || sub === '--help' || sub === '-h') return undefined;
  if (sub !== 'gc') usage(`state: unknown subcommand ${JSON.stringify(sub)}`);
  let stateDir: string | undefined;
  let retained = String(DEFAULT_RETAINED_CHECKPOINTS);
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i] as string;
    if (a === '--help' || a === '-h') return undefined;
    if (a === '--retained' || a.startsWith('--retained=')) {
      const v = a === '--retained' ? rest[++i] : a.slice('--retained='.length);
      if (v === undefined) usage('state gc: --retained needs a value');
      retained = v;
    } else if (a.startsWith('-')) usage(`state gc: unknown option ${a}`);
    else if (stateDir !== undefined) usage(`state gc: unexpected argument ${a}; one state directory only`);
    else stateDir = a;
  }
  if (stateDir === undefined) usage('state gc: missing <stateDir>');
  if (!/^\d+$/.test(retained) || Number(retained) < 1)
    usage(
      `state gc: --retained: expected an integer ≥ 1, got ${JSON.stringify(retained)} (the newest completed checkpoint is always kept)`,
    );
  return { stateDir, retained: Number(retained) };
}

/** What a job writes at the top of its state directory (a location with none of them is not one). */
const STATE_MARKERS = ['checkpoints', 'savepoints', ID_MARK_FILE] as const;

const names = (ids: readonly number[]): string => (ids.length ? ids.map((id) => `chk-${id}`).join(', ') : 'none');

/** What a pruning did, for people: one heading per kind, then the file keys. */
export function describeGc(stateDir: string, r: PruneResult): string {
  const lines = [
    `${stateDir}/checkpoints:`,
    `kept (restorable): ${names(r.kept)}`,
    `dropped (metadata removed, no longer restorable): ${names(r.dropped)}`,
    `removed ${r.removedFiles.length} file${r.removedFiles.length === 1 ? '' : 's'}${r.removedFiles.length ? ':' : ''}`,
    ...r.removedFiles.map((k) => `  ${k}`),
    `kept ${r.sharedFiles.length} file${r.sharedFiles.length === 1 ? '' : 's'} in older folders that kept checkpoints reference${r.sharedFiles.length ? ':' : ''}`,
    ...r.sharedFiles.map((k) => `  ${k}`),
    `removed folders: ${names(r.removedFolders)}`,
  ];
  if (r.untouched.length > 0)
    lines.push(`not touched (no metadata, newer than the newest completed checkpoint): ${names(r.untouched)}`);
  return `${lines.join('\n')}\n`;
}

/** Runs the command (argv after `state`); returns its exit code. */
export async function stateCommand(
  argv: readonly string[],
  out: NodeJS.WritableStream = process.stdout,
): Promise<number> {
  const a = parseStateGcArgs(argv);
  if (a === undefined) {
    out.write(`${STATE_GC_USAGE}\n`);
    return 0;
  }
  const stateDir = normalizeLocation(a.stateDir);
  if (!isS3Uri(stateDir) && !existsSync(stateDir)) usage(`state gc: no state directory ${stateDir}`);
  // A location a job never wrote to is most likely a mistyped one (a parent folder, another
  // bucket prefix): say so, rather than print "kept: none" as if its checkpoints were all gone.
  const children = await stateStoreFor(stateDir).list(stateDir);
  if (!STATE_MARKERS.some((m) => children.includes(m)))
    usage(
      `state gc: ${stateDir} is not a job's state directory: it holds none of ${STATE_MARKERS.join(', ')}${children.length ? ` (it holds ${children.slice(0, 5).join(', ')}${children.length > 5 ? ', …' : ''})` : ' (it is empty)'}`,
    );
  const lock = lockStateDir(stateDir);
  try {
    const r = await new CheckpointStorage(stateDir).prune(a.retained, undefined, undefined, true);
    out.write(describeGc(stateDir, r));
    return 0;
  } finally {
    lock.release();
  }
}
