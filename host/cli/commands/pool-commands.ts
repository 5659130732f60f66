// create, info and check.
import { storeFor } from '../../api/pool.js';
import { parsePersonality } from '../../device/personality.js';
import { InvalidArgumentError } from '../../errors.js';
import { checkPool } from '../../runtime/check.js';
import { PoolRuntime } from '../../runtime/pool-runtime.js';
import { parseSize } from '../args.js';
import { type CommandResult, formatBytes } from '../output.js';
import { progressBar } from '../progress.js';
import type { CommandArgs } from './command.js';

export function requirePath(args: CommandArgs, index: number, what: string): string {
  const path = args.positionals[index];
  if (!path) throw new InvalidArgumentError(`missing ${what}`);
  return path;
}

export async function create(args: CommandArgs): Promise<CommandResult> {
  const path = requirePath(args, 0, 'pool path');
  const size = parseSize(args.values.size);
  const device = parsePersonality(args.values.device ?? 'nvdimm-n');
  const runtime = await PoolRuntime.create(await storeFor({ path }), { size, device });
  const { uuid, dataOffset } = runtime;
  runtime.close();
  return {
    json: { ok: true, command: 'create', path, size, device, uuid, dataOffset },
    text: [`created ${path}: ${formatBytes(size)} ${device} pool ${uuid}, data region at offset ${dataOffset}`],
  };
}

export async function info(args: CommandArgs): Promise<CommandResult> {
  const path = requirePath(args, 0, 'pool path');
  const runtime = await PoolRuntime.open(await storeFor({ path }), { readOnly: true, onProgress: progressBar('loading') });
  try {
    const uuid = runtime.uuid;
    const summary = {
      ok: true,
      command: 'info',
      path,
      uuid,
      device: runtime.personality,
      size: runtime.poolSize,
      dataOffset: runtime.dataOffset,
      dataSize: runtime.poolSize - runtime.dataOffset,
      formatVersion: runtime.core.pool_version(),
      cleanShutdown: runtime.lastRestore!.cleanShutdown,
      lastCommitId: runtime.core.pool_last_commit_id(),
      generation: runtime.lastRestore!.generation,
      slots: runtime.slots(),
      heap: runtime.heapStats(),
      caches: runtime.caches(),
    };
    const { heap } = summary;
    return {
      json: summary,
      text: [
        `${path}: ${formatBytes(summary.size)} ${summary.device} pool ${uuid} (format v${summary.formatVersion})`,
        `  data region: offset ${summary.dataOffset}, ${formatBytes(summary.dataSize)}`,
        `  heap: ${heap.blocks} blocks, ${formatBytes(heap.usedBytes)} used, ${formatBytes(heap.freeBytes)} free ` +
          `in ${heap.chunks} chunks of 64 KiB, fragmentation ${(heap.fragmentation * 100).toFixed(1)}%`,
        `  last settled commit ID: ${summary.lastCommitId} (later commits, in journals or the commit log, are recovered at open)`,
        `  newest image: generation ${summary.generation}, ${summary.cleanShutdown ? 'clean shutdown' : 'not shut down cleanly (recovery runs at open)'}`,
        ...summary.slots.map((s) => `  slot ${s.slot}: ${s.state}, generation ${s.generation}${s.problem ? ` (${s.problem})` : ''}`),
        ...summary.caches.map(
          (c) =>
            `  cache ${JSON.stringify(c.name)}: capacity ${c.capacity}${c.maxCapacity > c.capacity ? ` (grows to ${c.maxCapacity})` : ''} (${c.evict}), `
            + `${c.cold} cold, ${c.hot} hot, ${c.ghost} ghost keys${c.bucketsToMove > 0 ? `, ${c.bucketsToMove} buckets to move` : ''}`,
        ),
      ],
    };
  } finally {
    runtime.close();
  }
}

export async function check(args: CommandArgs): Promise<CommandResult> {
  const path = requirePath(args, 0, 'pool path');
  const report = await checkPool(await storeFor({ path }), progressBar('checking'));
  return {
    json: { ok: report.valid, command: 'check', ...report },
    text: [
      `${path}: ${report.valid ? 'valid' : 'DAMAGED'}`,
      ...report.errors.map((e) => `  error ${e.code}: ${e.message}`),
      ...report.warnings.map((w) => `  warning ${w.code}: ${w.message}`),
    ],
    exitCode: report.valid ? 0 : 1,
  };
}
