// save (pool -> snapshot file) and restore (snapshot file -> pool).
import { storeFor } from '../../api/pool.js';
import { copyImage } from '../../runtime/snapshot.js';
import { type CommandResult, formatBytes } from '../output.js';
import { progressBar } from '../progress.js';
import type { CommandArgs } from './command.js';
import { requirePath } from './pool-commands.js';

async function copy(command: string, args: CommandArgs, fromWhat: string, toWhat: string): Promise<CommandResult> {
  const from = requirePath(args, 0, fromWhat);
  const to = requirePath(args, 1, toWhat);
  const report = await copyImage(await storeFor({ path: from }), await storeFor({ path: to }), {
    replace: args.flags.force,
    onProgress: progressBar(command === 'save' ? 'saving' : 'restoring'),
  });
  return {
    json: { ok: true, command, ...report },
    text: [
      `${command === 'save' ? 'saved' : 'restored'} ${from} -> ${to}: ${formatBytes(report.bytes)}, ` +
        `generation ${report.generation}, ${report.durationMs.toFixed(0)} ms`,
    ],
  };
}

/** Writes the pool's newest verified image to a snapshot file. */
export function save(args: CommandArgs): Promise<CommandResult> {
  return copy('save', args, 'pool path', 'snapshot path');
}

/** Rebuilds a pool file from a verified snapshot; replaces an existing pool only with --force. */
export function restore(args: CommandArgs): Promise<CommandResult> {
  return copy('restore', args, 'snapshot path', 'pool path');
}
