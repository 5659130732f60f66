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

/** The fresh-process half: power-up restore, then byte-for-byte verification. */
async function verifyPhase(args: CommandArgs): Promise<CommandResult> {
  const path = args.positionals[0];
  const records = Number(args.values.records);
  if (!path || !Number.isSafeInteger(records) || records <= 0) throw new InvalidArgumentError('demo --verify PATH --records N');
  const pool = await Pool.open({ path, backgroundFlushMs: 0 });
  const restore = pool.lastRestore!;
  const expected = dataset(records);
  const mismatchAt = firstDifference(pool.read(pool.dataOffset, expected.length), expected);
  await pool.close();
  const verified = mismatchAt < 0;
  return { json: { verified, mismatchAt, pid: process.pid, ...restore }, text: [], exitCode: verified ? 0 : 1 };
}

export async function demo(args: CommandArgs): Promise<CommandResult> {
  if (args.flags.verify) return verifyPhase(args);
  const dir = args.values.dir ?? 'data';
  const size = parseSize(args.values.size ?? '64M');
  const holdUpMs = parseMilliseconds(args.values['hold-up-ms'] ?? '2000', '--hold-up-ms');
  const path = join(dir, 'demo.pool');
  rmSync(path, { force: true });

  const pool = await Pool.open({ path, size, create: true, device: 'nvdimm-n', backgroundFlushMs: 0 });
  const records = Math.floor(pool.dataSize / 2 / RECORD_SIZE);
  const data = dataset(records);
  const half = Math.floor(records / 2) * RECORD_SIZE;
  pool.write(pool.dataOffset, data.subarray(0, half));
  const background = await pool.checkpoint(); // what the background flusher does between events
  pool.write(pool.dataOffset + half, data.subarray(half));
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
  const verified = restore.verified === true && powerLoss.complete;
  const ms = (n: unknown) => `${Number(n).toFixed(0)} ms`;
  return {
    json: { ok: verified, command: 'demo', path, size, records, bytes: data.length, background, powerLoss, restore },
    text: [
      'wasm-pmem demo: a pool survives a modelled power loss',
      `  pool         ${path} (${formatBytes(size)}, nvdimm-n)`,
      `  dataset      ${records} records, ${formatBytes(data.length)}`,
      `  background   saved ${formatBytes(background.savedBytes)} in ${ms(background.durationMs)} (generation ${background.generation})`,
      `  AC loss      hold-up ${holdUpMs} ms: saved ${formatBytes(powerLoss.savedBytes)} of pages its slot lacked in ${ms(powerLoss.durationMs)}, ` +
        `${powerLoss.complete ? 'complete' : 'INCOMPLETE'} (generation ${powerLoss.generation})`,
      `  power-up     fresh process ${restore.pid ?? '?'} loaded generation ${restore.generation ?? '?'} in ${ms(restore.durationMs)}` +
        `${restore.cleanShutdown === false ? ', recovery ran (no clean shutdown)' : ''}`,
      verified
        ? `  verified     all ${formatBytes(data.length)} byte-for-byte equal`
        : `  FAILED       ${restore.error ?? `first difference at byte ${restore.mismatchAt}`}`,
    ],
    exitCode: verified ? 0 : 1,
  };
}
