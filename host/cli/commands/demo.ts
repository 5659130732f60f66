// The main job: a pool survives a modelled power loss. Creates a pool, writes a
// recognisable dataset, pulls the plug with a hold-up budget, restores in a
// fresh process and verifies every byte.
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { Pool } from '../../api/pool.js';
import { packageRoot } from '../../core/package-root.js';
import { InvalidArgumentError } from '../../errors.js';
import { parseMilliseconds, parseSize } from '../args.js';
import type { SaveReport } from '../../store/image-store.js';
import { type CommandResult, formatBytes } from '../output.js';
import type { CommandArgs } from './command.js';

const RECORD_SIZE = 64;
const encoder = new TextEncoder();

/** Record `i` of the demo dataset: readable text, so a hex dump of the pool shows it. */
function dataset(records: number): Uint8Array {
  const bytes = new Uint8Array(records * RECORD_SIZE);
  for (let i = 0; i < records; i++) {
    const text = `wasm-pmem demo record ${String(i).padStart(8, '0')} survives power loss`.padEnd(RECORD_SIZE - 1, '.');
    encoder.encodeInto(`${text}\n`, bytes.subarray(i * RECORD_SIZE, (i + 1) * RECORD_SIZE));
  }
  return bytes;
}

function firstDifference(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

/** The fresh-process half: power-up restore, then byte-for-byte verification through the persistent root. */
async function verifyPhase(args: CommandArgs): Promise<CommandResult> {
  const path = args.positionals[0];
  const records = Number(args.values.records);
  if (!path || !Number.isSafeInteger(records) || records <= 0) throw new InvalidArgumentError('demo --verify PATH --records N');
  const pool = await Pool.open({ path, backgroundFlushMs: 0 });
  const restore = pool.lastRestore!;
  const expected = dataset(records);
  const block = pool.txSync((tx) => Number(tx.getU64(tx.root)));
  const mismatchAt = firstDifference(pool.read(block, expected.length), expected);
  const lastCommitId = pool.lastCommitId;
  await pool.close();
  const verified = mismatchAt < 0;
  return {
    json: { verified, mismatchAt, pid: process.pid, lastCommitId: String(lastCommitId), ...restore },
    text: [],
    exitCode: verified ? 0 : 1,
  };
}

const TX_BYTES = 32 << 10;
const BACKGROUND_EVERY = 4 << 20;

export async function demo(args: CommandArgs): Promise<CommandResult> {
  if (args.flags.verify) return verifyPhase(args);
  const dir = args.values.dir ?? 'data';
  const size = parseSize(args.values.size ?? '64M');
  const holdUpMs = parseMilliseconds(args.values['hold-up-ms'] ?? '2000', '--hold-up-ms');
  const path = join(dir, 'demo.pool');
  rmSync(path, { force: true });
  rmSync(`${path}.log`, { force: true });

  const pool = await Pool.open({ path, size, create: true, device: 'nvdimm-n', backgroundFlushMs: 0 });
  const records = Math.floor(pool.dataSize / 2 / RECORD_SIZE);
  const data = dataset(records);
  // One transaction allocates the dataset's block and points the root at it; then 32 KiB per transaction.
  const block = await pool.tx((tx) => {
    const directory = tx.alloc(8);
    const block = tx.alloc(data.length);
    tx.setU64(directory, BigInt(block));
    tx.root = directory;
    return block;
  });
  const firstCommitId = pool.lastCommitId;
  const fencesBefore = pool.device.counters().fences;
  const saves: SaveReport[] = [];
  for (let offset = 0; offset < data.length; offset += TX_BYTES) {
    await pool.tx((tx) => tx.write(block + offset, data.subarray(offset, offset + TX_BYTES)));
    // Every 4 MiB, save as the background flusher would between events.
    if ((offset + TX_BYTES) % BACKGROUND_EVERY === 0) saves.push(await pool.checkpoint());
  }
  const background = {
    saves: saves.length,
    incremental: saves.filter((s) => s.kind === 'delta').length,
    savedBytes: saves.reduce((n, s) => n + s.savedBytes, 0),
    durationMs: saves.reduce((n, s) => n + s.durationMs, 0),
  };
  const lastCommitId = pool.lastCommitId;
  const transactions = Number(lastCommitId - firstCommitId);
  const fencesPerTx = (pool.device.counters().fences - fencesBefore) / transactions;
  const powerLoss = await pool.platform.acPowerLoss({ holdUpMs });

  const child = spawnSync(
    process.execPath,
    [join(packageRoot(), 'bin', 'wasm-pmem.js'), 'demo', '--verify', path, '--records', String(records), '--json'],
    { encoding: 'utf8' },
  );
  let restore: Record<string, unknown> = { verified: false };
  try {
    restore = JSON.parse(child.stdout.trim().split('\n').pop() ?? '');
  } catch {
    restore = { verified: false, error: child.stderr || child.stdout };
  }
  const verified = restore.verified === true && powerLoss.complete && restore.lastCommitId === String(lastCommitId);
  const ms = (n: unknown) => `${Number(n).toFixed(0)} ms`;
  return {
    json: {
      ok: verified,
      command: 'demo',
      path,
      size,
      records,
      bytes: data.length,
      transactions: { count: transactions + 1, firstCommitId, lastCommitId, fencesPerTx },
      background,
      powerLoss,
      restore,
    },
    text: [
      'wasm-pmem demo: a pool survives a modelled power loss',
      `  pool         ${path} (${formatBytes(size)}, nvdimm-n)`,
      `  dataset      ${records} records, ${formatBytes(data.length)}, in an allocated block the pool root points to`,
      `  commits      ${transactions + 1} transactions, commit IDs ${firstCommitId}..${lastCommitId}, ${fencesPerTx} fence each`,
      `  background   ${background.saves} saves (${background.incremental} incremental) wrote ${formatBytes(background.savedBytes)} ` +
        `in ${ms(background.durationMs)}`,
      `  AC loss      hold-up ${holdUpMs} ms: saved the last ${formatBytes(powerLoss.savedBytes)} in ${ms(powerLoss.durationMs)}, ` +
        `${powerLoss.complete ? 'complete' : 'INCOMPLETE'} (image generation ${powerLoss.generation})`,
      `  power-up     fresh process ${restore.pid ?? '?'} loaded the image in ${ms(restore.durationMs)}` +
        `${restore.cleanShutdown === false ? ', recovery ran (no clean shutdown)' : ''}, newest commit ${restore.lastCommitId ?? '?'}`,
      verified
        ? `  verified     all ${formatBytes(data.length)} byte-for-byte equal, through commit ${lastCommitId}`
        : `  FAILED       ${restore.error ?? `first difference at byte ${restore.mismatchAt}, newest commit ${restore.lastCommitId}`}`,
    ],
    exitCode: verified ? 0 : 1,
  };
}
