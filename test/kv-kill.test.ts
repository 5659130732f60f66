// Real crashes of the persistent cache: a child runs gets and sets-on-miss on a
// durable adr pool and prints each acknowledged set; the parent kills it with
// SIGKILL at seeded moments. After each kill the reopened cache must be valid
// and warm, and hold exactly the entries that a reference copy (the same file
// before the round, replaying the same operations) holds at the recovered
// commit: so every acknowledged set is there unless the policy evicted it. It
// runs on an evicting cache and on one that grows as the keys arrive, so that
// kills land in the middle of bucket moves.
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { Pool } from '../host/api/index.js';
// @ts-expect-error: a plain ES module shared with the child process
import { CACHES, runOp } from './fixtures/kv-ops.mjs';
import { tempDir } from './helpers.js';

const KILLS = 30;
const SEED = Number(process.env.KILL_SEED ?? 777);
const STALL_MS = 30_000;
const child = join(import.meta.dirname, 'fixtures', 'kv-child.mjs');

function runUntilKilled(path: string, cache: string, first: number, acksBeforeKill: number) {
  const proc = spawn(process.execPath, [child, path, String(SEED), String(first), cache], { stdio: ['ignore', 'pipe', 'inherit'] });
  let lastOp = first - 1;
  let lastCommit = 0n;
  let acks = 0;
  // A child that stops acknowledging is killed too, so that it cannot outlive the test; the test then fails.
  let stalled = false;
  const guard = setTimeout(() => {
    stalled = true;
    proc.kill('SIGKILL');
  }, STALL_MS);
  createInterface({ input: proc.stdout }).on('line', (line) => {
    const [word, op, commitId] = line.split(' ');
    if (word !== 'ack') return;
    lastOp = Number(op);
    lastCommit = BigInt(commitId);
    if (++acks === acksBeforeKill) proc.kill('SIGKILL');
  });
  return new Promise<{ signal: string | null; stalled: boolean; acks: number; lastOp: number; lastCommit: bigint }>((resolve) =>
    proc.on('exit', (_code, signal) => {
      clearTimeout(guard);
      resolve({ signal, stalled, acks, lastOp, lastCommit });
    }),
  );
}

describe.each(Object.keys(CACHES))('%s cache', (cache) => {
  it(`reopens a valid, warm cache holding every acknowledged set across ${KILLS} SIGKILLs`, async () => {
    const dir = tempDir();
    const path = join(dir, 'cache.pool');
    const copy = join(dir, 'reference.pool');
    let x = SEED;
    const random = () => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0), x / 2 ** 32);
    let next = 0; // the first operation of the next round
    for (let kill = 0; kill < KILLS; kill++) {
      const context = `kill ${kill} (seed ${SEED})`;
      if (existsSync(path)) {
        copyFileSync(path, copy);
        if (existsSync(`${path}.log`)) copyFileSync(`${path}.log`, `${copy}.log`);
      }
      const run = await runUntilKilled(path, cache, next, 1 + Math.floor(random() * 150));
      expect(run.stalled, `${context}: the child stopped acknowledging sets`).toBe(false);
      expect(run.signal, context).toBe('SIGKILL');

      const pool = await Pool.open({ path, backgroundFlushMs: 0 });
      const kv = pool.kv('cache');
      kv.check();
      expect(pool.lastCommitId, context).toBeGreaterThanOrEqual(run.lastCommit);
      const entries = kv.entries();
      expect(entries.length, `${context}: warm`).toBeGreaterThan(0);

      // The reference: the pool as this round found it, replaying operations up to the recovered commit.
      const reference = existsSync(copy)
        ? await Pool.open({ path: copy, backgroundFlushMs: 0 })
        : await Pool.open({ path: copy, size: 8 << 20, create: true, device: 'adr', sync: 'none', backgroundFlushMs: 0 });
      const referenceKv = reference.kv('cache', CACHES[cache as keyof typeof CACHES].options);
      let op = next;
      while (reference.lastCommitId < pool.lastCommitId) runOp(referenceKv, cache, SEED, op++);
      expect(op - 1, context).toBeGreaterThanOrEqual(run.lastOp);
      expect(entries, context).toEqual(referenceKv.entries());
      expect(kv.ghosts(), context).toEqual(referenceKv.ghosts());
      expect(kv.stats(), context).toMatchObject({ capacity: referenceKv.stats().capacity, bucketsToMove: referenceKv.stats().bucketsToMove });
      next = op;
      await reference.close();
      await pool.close();
    }
    if (cache === 'growing') {
      // The rounds outran the first capacity and crossed several bucket moves.
      const reopened = await Pool.open({ path, backgroundFlushMs: 0 });
      expect(reopened.kv('cache').stats().buckets).toBeGreaterThan(64);
      await reopened.close();
    }
  }, 300_000);
});
