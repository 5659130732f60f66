// The wasm-pmem CLI, run as a real process: every command with --json prints
// exactly one JSON object, and the exit status says whether it succeeded.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { layoutFor } from '../host/store/image-format.js';
import { tempDir } from './helpers.js';

const bin = join(import.meta.dirname, '..', 'bin', 'wasm-pmem.js');

function cli(...args: string[]) {
  const result = spawnSync(process.execPath, [bin, ...args, '--json'], { encoding: 'utf8' });
  const lines = result.stdout.trim().split('\n');
  expect(lines, `stdout of ${args.join(' ')}: ${result.stdout}${result.stderr}`).toHaveLength(1);
  return { status: result.status, json: JSON.parse(lines[0]) };
}

describe('cli', () => {
  const dir = tempDir();

  it('creates, describes, checks, saves and restores a pool', () => {
    const pool = join(dir, 'a.pool');
    const snapshot = join(dir, 'a.snapshot');
    const copy = join(dir, 'b.pool');
    expect(cli('create', pool, '--size', '4M', '--device', 'adr')).toMatchObject({
      status: 0,
      json: { ok: true, command: 'create', size: 4 * 2 ** 20, device: 'adr' },
    });
    const info = cli('info', pool);
    expect(info).toMatchObject({ status: 0, json: { device: 'adr', size: 4 * 2 ** 20, cleanShutdown: true } });
    expect(cli('check', pool)).toMatchObject({ status: 0, json: { ok: true, valid: true, errors: [] } });
    expect(cli('save', pool, snapshot)).toMatchObject({ status: 0, json: { ok: true, bytes: 4 * 2 ** 20 } });
    expect(cli('restore', snapshot, copy)).toMatchObject({ status: 0, json: { ok: true } });
    expect(cli('info', copy).json.uuid).toBe(info.json.uuid);
    expect(cli('check', copy).status).toBe(0);
    expect(cli('restore', snapshot, copy)).toMatchObject({ status: 1, json: { ok: false, error: { code: 'EEXIST' } } });
    expect(cli('restore', snapshot, copy, '--force').status).toBe(0);
    expect(cli('create', pool, '--size', '4M')).toMatchObject({ status: 1, json: { error: { code: 'EEXIST' } } });
  });

  it('fails check on a damaged file and names the page', () => {
    const pool = join(dir, 'd.pool');
    expect(cli('create', pool, '--size', '1M').status).toBe(0);
    const { slots } = cli('info', pool).json as { slots: Array<{ generation: number }> };
    const newest = slots[0].generation > slots[1].generation ? 0 : 1;
    const bytes = readFileSync(pool);
    bytes[layoutFor(256, 4096).dataOffset[newest] + 2 * 4096 + 7] ^= 0x40;
    writeFileSync(pool, bytes);
    const check = cli('check', pool);
    expect(check.status).toBe(1);
    expect(check.json).toMatchObject({ ok: false, valid: false, errors: [{ code: 'ECORRUPT', page: 2 }] });
    expect(cli('info', pool)).toMatchObject({ status: 1, json: { ok: false, error: { code: 'ECORRUPT' } } });
  });

  it('reports bad usage with exit status 2', () => {
    expect(cli('create', join(dir, 'x.pool'), '--size', 'lots')).toMatchObject({ status: 2, json: { error: { code: 'EINVAL' } } });
    expect(cli('check', join(dir, 'x.pool'), '--bogus')).toMatchObject({ status: 2, json: { error: { code: 'EINVAL' } } });
    expect(cli('info', join(dir, 'missing.pool'))).toMatchObject({ status: 1, json: { error: { code: 'ENOENT' } } });
    expect(cli('bench', 'no-such-bench')).toMatchObject({ status: 2, json: { error: { code: 'EINVAL' } } });
  });

  it('runs the demo: power loss, restore in a fresh process, byte equality', () => {
    const demo = cli('demo', '--dir', dir, '--size', '8M');
    expect(demo).toMatchObject({ status: 0, json: { ok: true, powerLoss: { complete: true }, restore: { verified: true } } });
    expect(demo.json.restore.pid).not.toBe(process.pid);
    expect(demo.json.transactions.fencesPerTx).toBe(1);
    expect(demo.json.restore.lastCommitId).toBe(demo.json.transactions.lastCommitId);
  });
});

describe('progress bar', () => {
  it('draws on a terminal, ends its line when done, and stays silent otherwise', async () => {
    const { progressBar } = await import('../host/cli/progress.js');
    const written: string[] = [];
    const tty = { isTTY: true, write: (text: string) => written.push(text) } as unknown as NodeJS.WriteStream;
    const bar = progressBar('saving', tty)!;
    bar(0, 4 << 20);
    bar(4 << 20, 4 << 20);
    expect(written[0]).toMatch(/^\rsaving \[\.+\]   0% 0\/4 MiB$/);
    expect(written.at(-1)).toMatch(/^\rsaving \[#+\] 100% 4\/4 MiB\n$/);
    expect(progressBar('saving', { isTTY: false } as NodeJS.WriteStream)).toBeUndefined();
  });
});
