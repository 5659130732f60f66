// Real processes: SIGKILL in the middle of a save, and SIGPWR/SIGTERM mapped onto AC loss.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { Pool } from '../host/api/index.js';
import { checkPool } from '../host/runtime/check.js';
import { NodeFileStore } from '../host/store/node-file-store.js';
import { generationOf } from './fixtures/page-pattern.mjs';
import { MiB, tempDir } from './helpers.js';

const fixture = (name: string) => join(import.meta.dirname, 'fixtures', name);

function run(script: string, args: string[], onLine: (line: string, kill: () => void) => void) {
  const child = spawn(process.execPath, [fixture(script), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: string[] = [];
  createInterface({ input: child.stdout }).on('line', (line) => {
    lines.push(line);
    onLine(line, () => child.kill('SIGKILL'));
  });
  return {
    child,
    lines,
    exited: new Promise<{ code: number | null; signal: string | null }>((resolve) =>
      child.on('exit', (code, signal) => resolve({ code, signal })),
    ),
  };
}

describe('real process kills', () => {
  const dir = tempDir();

  it('leaves the previous image loadable when SIGKILL lands in the middle of a save', async () => {
    const seed = 7;
    let killedMidSave = 0;
    for (let round = 0; round < 4; round++) {
      const path = join(dir, `kill-${round}.pool`);
      const killAt = 0.15 + ((seed * (round + 1) * 0.37) % 0.7); // seeded fraction of the save
      const { lines, exited } = run('save-child.mjs', [path, String(128 * MiB)], (line, kill) => {
        const [word, done, total] = line.split(' ');
        if (word === 'progress' && Number(done) / Number(total) >= killAt) kill();
      });
      const { signal } = await exited;
      expect(signal, `round ${round} seed ${seed}`).toBe('SIGKILL');
      const finished = lines.includes('saved 2');
      if (lines.some((l) => l.startsWith('progress')) && !finished) killedMidSave++;

      const pool = await Pool.open({ path, backgroundFlushMs: 0 });
      const generation = generationOf(pool);
      await pool.close();
      expect(generation, `round ${round}: every page from one generation`).toBeOneOf(finished ? [2] : [1, 2]);
      expect((await checkPool(new NodeFileStore(path))).valid).toBe(true);
    }
    expect(killedMidSave).toBeGreaterThanOrEqual(3);
  });

  it.each(['SIGPWR', 'SIGTERM'] as const)('saves the pool when the process receives %s', async (signal) => {
    const path = join(dir, `${signal}.pool`);
    const pool = await Pool.open({ path, size: 8 * MiB, create: true, backgroundFlushMs: 0 });
    await pool.close();
    const { child, lines, exited } = run('signal-child.mjs', [path], (line) => {
      if (line === 'ready') child.kill(signal);
    });
    const { code } = await exited;
    expect(code).toBe(0);
    expect(JSON.parse(lines.at(-1)!)).toMatchObject({ signal, complete: true });
    const reopened = await Pool.open({ path, backgroundFlushMs: 0 });
    expect(generationOf(reopened)).toBe(3);
    expect(reopened.lastRestore?.cleanShutdown).toBe(false);
    await reopened.close();
  });
});

describe('exclusive access', () => {
  const dir = tempDir();

  it('refuses a second writer while a pool is open, here or in a live process, and takes over a dead one', async () => {
    const path = join(dir, 'locked.pool');
    const first = await Pool.open({ path, size: 4 * MiB, create: true, backgroundFlushMs: 0 });
    await expect(Pool.open({ path, backgroundFlushMs: 0 })).rejects.toMatchObject({ code: 'EBUSY', details: { pid: process.pid } });
    await first.close();

    const { child, exited } = run('signal-child.mjs', [path], (line) => {
      if (line === 'ready') ready();
    });
    let ready = () => {};
    await new Promise<void>((resolve) => (ready = resolve));
    await expect(Pool.open({ path, backgroundFlushMs: 0 })).rejects.toMatchObject({ code: 'EBUSY', details: { pid: child.pid } });
    child.kill('SIGKILL');
    await exited;
    const taken = await Pool.open({ path, backgroundFlushMs: 0 }); // the dead process's lock is stale
    await taken.close();
  });
});
