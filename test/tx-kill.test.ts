// Real crashes of transactions: a child commits bank transfers on a durable adr
// pool and prints each acknowledged commit; the parent kills it with SIGKILL at
// seeded moments, 200 times, and checks that nothing acknowledged was lost.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { expect, it } from 'vitest';
import { Pool } from '../host/api/index.js';
import { tempDir } from './helpers.js';

const KILLS = 200;
const SEED = Number(process.env.KILL_SEED ?? 424242);
const child = join(import.meta.dirname, 'fixtures', 'tx-child.mjs');

function runUntilKilled(path: string, log: string, seed: number, acksBeforeKill: number) {
  const proc = spawn(process.execPath, [child, path, log, String(seed)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let last = { counter: 0n, commitId: 0n };
  let acks = 0;
  createInterface({ input: proc.stdout }).on('line', (line) => {
    const [word, counter, commitId] = line.split(' ');
    if (word !== 'ack') return;
    last = { counter: BigInt(counter), commitId: BigInt(commitId) };
    if (++acks === acksBeforeKill) proc.kill('SIGKILL');
  });
  return new Promise<{ signal: string | null; acks: number; last: typeof last }>((resolve) =>
    proc.on('exit', (_code, signal) => resolve({ signal, acks, last })),
  );
}

it(`loses no acknowledged commit across ${KILLS} SIGKILLs`, async () => {
  const path = join(tempDir(), 'bank.pool');
  let x = SEED;
  const random = () => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0), x / 2 ** 32);
  let acknowledged = 0n;
  for (let kill = 0; kill < KILLS; kill++) {
    const log = ['redo', 'undo', 'both'][kill % 3];
    const run = await runUntilKilled(path, log, SEED + kill, 1 + Math.floor(random() * 25));
    const context = `kill ${kill} (seed ${SEED}, ${log})`;
    expect(run.signal, context).toBe('SIGKILL');
    if (run.acks > 0) acknowledged = run.last.counter;

    const pool = await Pool.open({ path, backgroundFlushMs: 0 });
    pool.txSync((tx) => {
      const bank = tx.root;
      const balances = Array.from({ length: 8 }, (_, i) => tx.getU64(bank + 8 + i * 8));
      expect(balances.reduce((a, b) => a + b, 0n), context).toBe(8000n);
      const counter = tx.getU64(bank);
      expect(counter, context).toBeGreaterThanOrEqual(acknowledged);
      acknowledged = counter; // a commit in flight at the kill may have survived: it counts from now on
    });
    if (run.acks > 0) expect(pool.lastCommitId, context).toBeGreaterThanOrEqual(run.last.commitId);
    await pool.close();
  }
}, 600_000);
