// Transactions: atomicity, read-your-writes, the allocator, the root, one fence
// per redo commit, group commit on durable pools, and misuse.
import { describe, expect, it } from 'vitest';
import { type DevicePersonality, MemoryStore, Pool, type Transaction, type TxLog } from '../host/api/index.js';
import { seededRandom } from './fixtures/random.mjs';
import { MiB, codeOf, patternBytes } from './helpers.js';

async function fresh(device: DevicePersonality = 'eadr', store = new MemoryStore()) {
  return Pool.open({ store, size: 4 * MiB, create: true, device, backgroundFlushMs: 0 });
}

describe.each(['redo', 'undo'] as TxLog[])('%s transactions', (log) => {
  it('commit atomically, see their own writes, and survive reopening', async () => {
    const store = new MemoryStore();
    const pool = await fresh('adr', store);
    const result = await pool.tx((tx) => {
      const block = tx.alloc(100);
      tx.write(block, patternBytes(100, 1));
      tx.setU64(block + 8, 42n);
      tx.setF64(block + 16, 2.5);
      tx.setU32(block + 24, 7);
      expect(tx.getU64(block + 8)).toBe(42n);
      expect(tx.read(block + 16, 8)).toEqual(new Uint8Array(new Float64Array([2.5]).buffer));
      tx.root = block;
      return block;
    }, { log });
    expect(pool.lastCommitId).toBeGreaterThan(0n);
    await pool.close();
    const reopened = await Pool.open({ store, backgroundFlushMs: 0 });
    reopened.txSync((tx) => {
      expect(tx.root).toBe(result);
      expect(tx.getU64(result + 8)).toBe(42n);
      expect(tx.getF64(result + 16)).toBe(2.5);
      expect(tx.getU32(result + 24)).toBe(7);
      expect(tx.read(result + 32, 68)).toEqual(patternBytes(100, 1).subarray(32));
    }, { log });
    await reopened.close();
  });

  // Redo also as a concurrent transaction, whose records are staged in the thread's own buffer and whose reads validate.
  const overlapModes = log === 'redo' ? [false, true] : [false];
  it.each(overlapModes.flatMap((concurrent) => [1, 2, 3].map((seed) => [seed, concurrent] as const)))(
    'read what they wrote over overlapping writes, past the entries a redo transaction indexes (seed %i, concurrent %s)',
    async (seed, concurrent) => {
      const random = seededRandom(seed);
      const pool = await fresh();
      const base = pool.dataOffset + 8192;
      const span = 1024;
      const expected = pool.device.pool.slice(base, base + span);
      const options = concurrent ? { log, concurrent } : { log };
      // 300 writes: more entries than a redo transaction indexes for its newest-first reads (256).
      pool.txSync((tx) => {
        for (let i = 0; i < 300; i++) {
          const at = random(span - 24);
          const bytes = patternBytes(1 + random(24), seed * 1000 + i);
          tx.write(base + at, bytes);
          expected.set(bytes, at);
          const from = random(span - 48);
          const length = 1 + random(48);
          expect(tx.read(base + from, length), `seed ${seed}, after write ${i}`).toEqual(expected.subarray(from, from + length));
        }
      }, options);
      pool.txSync((tx) => expect(tx.read(base, span), `seed ${seed}`).toEqual(expected), { log });
      await pool.close();
    },
  );

  it('applies nothing when the callback throws', async () => {
    const pool = await fresh();
    const at = pool.dataOffset + 4096;
    pool.txSync((tx) => tx.setU64(at, 1n), { log });
    const before = pool.device.pool.slice();
    const stats = pool.info().heap;
    expect(() =>
      pool.txSync((tx) => {
        tx.setU64(at, 2n);
        tx.alloc(5000);
        tx.write(at + 100, patternBytes(3000, 2));
        throw new Error('changed my mind');
      }, { log }),
    ).toThrow('changed my mind');
    expect(Buffer.compare(pool.device.pool.subarray(pool.dataOffset), before.subarray(pool.dataOffset))).toBe(0);
    expect(pool.info().heap).toEqual(stats);
    pool.txSync((tx) => expect(tx.getU64(at)).toBe(1n), { log });
  });

  it('gives typed errors for misuse and leaves the pool unchanged', async () => {
    const pool = await fresh();
    let kept: Parameters<Parameters<typeof pool.txSync>[0]>[0] | undefined;
    const block = pool.txSync((tx) => (kept = tx).alloc(64), { log });
    const before = pool.device.pool.slice();
    expect(codeOf(() => kept!.setU64(block, 1n))).toBe('ETXDONE');
    expect(codeOf(() => kept!.alloc(8))).toBe('ETXDONE');
    const inside = (action: (tx: NonNullable<typeof kept>) => unknown) => codeOf(() => pool.txSync(action, { log }));
    expect(inside(() => pool.txSync(() => 0))).toBe('ETXNESTED');
    expect(inside(() => pool.write(pool.dataOffset, new Uint8Array(1)))).toBe('ETXNESTED');
    expect(inside((tx) => tx.write(0, new Uint8Array(8)))).toBe('EBOUNDS');
    expect(inside((tx) => tx.setU64(pool.size - 4, 1n))).toBe('EBOUNDS');
    expect(inside((tx) => tx.free(block + 8))).toBe('EBADPTR');
    expect(inside((tx) => tx.alloc(pool.size))).toBe('ENOSPC');
    expect(inside((tx) => tx.write(pool.dataOffset, new Uint8Array(pool.dataSize)))).toBe('ETXTOOLARGE');
    expect(inside((tx) => tx.alloc(0))).toBe('EINVAL');
    expect(inside((tx) => tx.setU32(block, -1))).toBe('EINVAL');
    expect(codeOf(() => pool.txSync((() => Promise.resolve()) as never, { log }))).toBe('EINVAL');
    expect(codeOf(() => pool.txSync(() => 0, { log: 'both' as never }))).toBe('EINVAL');
    expect(Buffer.compare(pool.device.pool.subarray(pool.dataOffset), before.subarray(pool.dataOffset))).toBe(0);
    pool.txSync((tx) => tx.free(block), { log });
    expect(inside((tx) => tx.free(block))).toBe('EDOUBLEFREE');
  });

  it('allocates distinct blocks of every size and frees them back', async () => {
    const pool = await fresh();
    const sizes = [1, 16, 17, 100, 1000, 4096, 30_000, 40_000, 200_000];
    const blocks = pool.txSync((tx) => sizes.map((size) => tx.alloc(size)), { log });
    const ranges = blocks.map((b, i) => [b, b + sizes[i]]).sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < ranges.length; i++) expect(ranges[i][0]).toBeGreaterThanOrEqual(ranges[i - 1][1]);
    expect(pool.info().heap.blocks).toBe(sizes.length);
    pool.txSync((tx) => blocks.forEach((b) => tx.free(b)), { log });
    const heap = pool.info().heap;
    expect(heap).toMatchObject({ blocks: 0, usedBytes: 0, freeChunks: heap.chunks, fragmentation: 0 });
  });
});

describe('commit protocol', () => {
  it('costs exactly one fence per redo transaction', async () => {
    for (const device of ['adr', 'eadr', 'nvdimm-n'] as const) {
      const pool = await fresh(device);
      const at = pool.dataOffset;
      const before = pool.device.counters().fences;
      for (let i = 0; i < 100; i++) {
        pool.txSync((tx) => {
          tx.write(at, patternBytes(64, i));
          tx.write(at + 4096, patternBytes(64, i + 1));
        });
      }
      expect(pool.device.counters().fences - before, device).toBe(100);
    }
  });

  it('group-commits transactions issued without awaiting: one fdatasync for the group', async () => {
    const store = new MemoryStore();
    const pool = await fresh('adr', store);
    const counter = pool.txSync((tx) => tx.alloc(8));
    const syncs = store.syncs;
    await Promise.all(Array.from({ length: 64 }, () => pool.tx((tx) => tx.setU64(counter, tx.getU64(counter) + 1n))));
    expect(store.syncs - syncs).toBe(1);
    await pool.tx((tx) => tx.setU64(counter, tx.getU64(counter) + 1n));
    expect(store.syncs - syncs).toBe(2);
    pool.txSync((tx) => expect(tx.getU64(counter)).toBe(65n));
  });

  it('commits a group larger than the commit batch, and an undo group, and every commit survives a process death', async () => {
    const store = new MemoryStore();
    const pool = await fresh('adr', store);
    const blocks = pool.txSync((tx) => Array.from({ length: 8 }, () => tx.alloc(4096)));
    // 400 records of over 4 KiB: more than the 1 MiB batch, so the group is written in parts.
    await Promise.all(
      Array.from({ length: 400 }, (_, i) =>
        pool.tx((tx) => tx.write(blocks[i % 8], patternBytes(4096, i)), { log: i % 5 === 0 ? 'undo' : 'redo' }),
      ),
    );
    const reopened = await Pool.open({ store, backgroundFlushMs: 0 });
    reopened.txSync((tx) => {
      for (let b = 0; b < 8; b++) expect(tx.read(blocks[b], 4096)).toEqual(patternBytes(4096, 392 + b));
    });
  });

  it("never replays a dead session's records after a new session's, when a crash lost the first of them", async () => {
    const store = new MemoryStore();
    const first = await fresh('adr', store);
    const block = first.txSync((tx) => tx.alloc(8));
    await first.checkpoint(); // the log starts over: the next records are at its start
    for (const value of [1n, 2n, 3n]) first.txSync((tx) => tx.setU64(block, value));
    // The process dies, and the power cut lost the first record's sectors; the next two survived.
    store.logBytes.fill(0, 0, 64);
    const second = await Pool.open({ store, backgroundFlushMs: 0 });
    second.txSync((tx) => expect(tx.getU64(block)).toBe(0n)); // nothing after the lost record counts
    second.txSync((tx) => tx.setU64(block, 100n)); // a record of the same length, at the same offset
    // The new session dies too: only its own record may be replayed, not the dead session's 2 and 3.
    const third = await Pool.open({ store, backgroundFlushMs: 0 });
    third.txSync((tx) => expect(tx.getU64(block)).toBe(100n));
  });

  it('makes adr commits durable through the commit log, without a clean shutdown', async () => {
    for (const log of ['redo', 'undo'] as const) {
      const store = new MemoryStore();
      const pool = await fresh('adr', store);
      const counter = pool.txSync((tx) => tx.alloc(8));
      for (let i = 0; i < 20; i++) await pool.tx((tx) => tx.setU64(counter, BigInt(i + 1)), { log });
      // The process dies here: no close, no save since the counter's first commit.
      const reopened = await Pool.open({ store, backgroundFlushMs: 0 });
      reopened.txSync((tx) => expect(tx.getU64(counter), log).toBe(20n));
      expect(reopened.lastCommitId).toBeGreaterThanOrEqual(pool.lastCommitId);
    }
  });
});

describe('read-only transactions', () => {
  it('read committed data, refuse every change with EROFS, and nest with no other transaction', async () => {
    const pool = await Pool.open({ store: new MemoryStore(), size: 4 * MiB, create: true, backgroundFlushMs: 0 });
    const block = pool.txSync((tx) => {
      const at = tx.alloc(24);
      tx.setU64(at, 5n);
      tx.setF64(at + 8, 2.5);
      tx.setU32(at + 16, 9);
      tx.root = at;
      return at;
    });
    const seen = pool.txSync((tx) => [tx.readOnly, tx.root, tx.getU64(block), tx.getF64(block + 8), tx.getU32(block + 16), [...tx.read(block, 2)]], {
      readOnly: true,
    });
    expect(seen).toEqual([true, block, 5n, 2.5, 9, [5, 0]]);
    const changes: Array<(tx: Transaction) => unknown> = [
      (tx) => tx.setU64(block, 1n),
      (tx) => tx.setU32(block, 1),
      (tx) => tx.setF64(block, 1),
      (tx) => tx.write(block, new Uint8Array(1)),
      (tx) => tx.alloc(8),
      (tx) => tx.free(block),
      (tx) => (tx.root = 0),
    ];
    for (const change of changes) expect(codeOf(() => pool.txSync(change, { readOnly: true }))).toBe('EROFS');
    expect(codeOf(() => pool.txSync(() => pool.txSync(() => {}), { readOnly: true }))).toBe('ETXNESTED');
    // Writes that do not go through the handle are refused too: a rerun would repeat them.
    const cache = pool.kv('read-only', { capacity: 16 });
    expect(codeOf(() => pool.txSync(() => cache.set(1, 'x'), { readOnly: true }))).toBe('EROFS');
    expect(codeOf(() => pool.txSync(() => pool.write(block, new Uint8Array(1)), { readOnly: true }))).toBe('EROFS');
    expect(cache.has(1)).toBe(false);
    let nested: Promise<unknown> | undefined;
    pool.txSync(() => void (nested = pool.tx(() => {}, { readOnly: true })), { readOnly: true });
    await expect(nested).rejects.toMatchObject({ code: 'ETXNESTED' });
    expect(codeOf(() => pool.txSync(() => pool.txSync(() => {}, { readOnly: true })))).toBe('ETXNESTED');
    expect(codeOf(() => pool.txSync((tx) => tx.getU64(0), { readOnly: true }))).toBe('EBOUNDS');
    expect(codeOf(() => pool.txSync(() => {}, { readOnly: 'yes' as unknown as boolean }))).toBe('EINVAL');
    expect(codeOf(() => pool.txSync(async () => {}, { readOnly: true }))).toBe('EINVAL');
    expect(pool.txSync((tx) => tx.getU64(block), { readOnly: true })).toBe(5n); // nothing changed, and no lock is left held
    pool.txSync((tx) => tx.setU64(block, 6n));
    expect(await pool.tx((tx) => tx.getU64(block), { readOnly: true })).toBe(6n);
    await pool.close();
  });
});

describe('concurrent transactions', () => {
  it('commit like redo transactions, refuse undo and nested cache writes, and survive reopening', async () => {
    const store = new MemoryStore();
    const pool = await Pool.open({ store, size: 4 * MiB, create: true, backgroundFlushMs: 0 });
    const block = pool.txSync((tx) => {
      const at = tx.alloc(4096);
      tx.setU64(at, 5n);
      tx.root = at;
      return at;
    }, { concurrent: true });
    let handle: Transaction | undefined;
    const seen = pool.txSync((tx) => {
      handle = tx;
      tx.setU64(block, tx.getU64(block) + 1n);
      tx.setF64(block + 8, 2.5);
      tx.write(block + 100, patternBytes(3000, 4));
      return [tx.root, tx.getU64(block), tx.getF64(block + 8), [...tx.read(block + 100, 4)]];
    }, { concurrent: true });
    expect(seen).toEqual([block, 6n, 2.5, [...patternBytes(3000, 4).subarray(0, 4)]]);
    expect(typeof handle!.commitId).toBe('bigint');
    expect(await pool.tx((tx) => tx.getU64(block) * 2n, { concurrent: true })).toBe(12n);
    expect(codeOf(() => pool.txSync(() => {}, { concurrent: true, log: 'undo' }))).toBe('EINVAL');
    expect(codeOf(() => pool.txSync(() => {}, { concurrent: 1 as unknown as boolean }))).toBe('EINVAL');
    expect(codeOf(() => pool.txSync(() => {}, { concurrent: true, readOnly: true }))).toBe('EINVAL');
    const cache = pool.kv('concurrent', { capacity: 16 });
    expect(codeOf(() => pool.txSync(() => cache.set(1, 'x'), { concurrent: true }))).toBe('ETXNESTED');
    expect(codeOf(() => pool.txSync(() => pool.txSync(() => {}), { concurrent: true }))).toBe('ETXNESTED');
    // A callback that throws commits nothing (test/workers.test.ts checks that it leaves no lock held).
    expect(() => pool.txSync((tx) => {
      tx.setU64(block, 99n);
      throw new Error('no');
    }, { concurrent: true })).toThrow('no');
    expect(pool.txSync((tx) => tx.getU64(block))).toBe(6n);
    await pool.close();
    const reopened = await Pool.open({ store, backgroundFlushMs: 0 });
    expect(reopened.txSync((tx) => [tx.getU64(block), [...tx.read(block + 100, 3000)]])).toEqual([6n, [...patternBytes(3000, 4)]]);
    await reopened.close();
  });

  it('a transaction that reads more than its read log holds runs again holding the lock, once', async () => {
    const pool = await Pool.open({ store: new MemoryStore(), size: 8 * MiB, create: true, backgroundFlushMs: 0 });
    const size = 1 << 20; // 16,384 lines: more stripes than the 4,080 a read log holds
    const block = pool.txSync((tx) => tx.alloc(size));
    let runs = 0;
    const sum = pool.txSync((tx) => {
      runs++;
      tx.setU64(block, 7n);
      return tx.read(block, size).reduce((a, b) => a + b, 0);
    }, { concurrent: true });
    expect([sum, runs]).toEqual([7, 2]);
    await pool.close();
  });
});

describe('check', () => {
  it('reports inconsistent allocator metadata in an image whose checksums are intact', async () => {
    const { checkPool } = await import('../host/runtime/check.js');
    const store = new MemoryStore();
    const first = await fresh('eadr', store);
    first.txSync((tx) => tx.alloc(100));
    await first.close(); // settled: recovery has no journal left to replay over the damage below
    expect((await checkPool(store)).valid).toBe(true);
    const pool = await Pool.open({ store, backgroundFlushMs: 0 });
    // Damage chunk 0's descriptor behind the allocator's back (as a bad DIMM would): the region table
    // in the pool header says where the heap metadata (kind 7) lives; descriptors start 64 bytes in.
    const bytes = new DataView(pool.device.pool.buffer, pool.device.pool.byteOffset, pool.size);
    const entry = Array.from({ length: 16 }, (_, i) => 64 + i * 32).find((at) => bytes.getUint32(at, true) === 7)!;
    const descriptor = Number(bytes.getBigUint64(entry + 8, true)) + 64;
    expect(bytes.getBigUint64(descriptor, true)).not.toBe(0n);
    bytes.setBigUint64(descriptor, 0x42n, true);
    await pool.checkpoint({ full: true });
    const report = await checkPool(store);
    expect(report.valid).toBe(false);
    expect(report.errors).toEqual([expect.objectContaining({ code: 'EHEAP' })]);
  });
});

describe('regressions', () => {
  it.each(['adr', 'nvdimm-n'] as const)('keeps an undo commit made after a redo commit across a power cycle (%s)', async (device) => {
    const pool = await fresh(device);
    const account = await pool.tx((tx) => {
      const block = tx.alloc(16);
      tx.setU64(block, 100n);
      return block;
    });
    await pool.tx((tx) => tx.setU64(account, tx.getU64(account) - 30n), { log: 'undo' });
    await pool.checkpoint();
    await pool.platform.acPowerLoss({ holdUpMs: 30_000 });
    await pool.platform.powerRestore();
    pool.txSync((tx) => expect(tx.getU64(account)).toBe(70n));
  });

  it('keeps a raw write made after a redo commit across a power cycle', async () => {
    const pool = await fresh('eadr');
    const at = pool.dataOffset + 4096;
    pool.txSync((tx) => tx.setU64(at, 1n));
    pool.write(at, new Uint8Array([2, 0, 0, 0, 0, 0, 0, 0]));
    await pool.checkpoint();
    await pool.platform.acPowerLoss({ holdUpMs: 30_000 });
    await pool.platform.powerRestore();
    expect(pool.read(at, 1)[0]).toBe(2);
  });

  it('does not commit a transaction whose journal filled part-way, even if the callback caught the error', async () => {
    const pool = await fresh('eadr');
    const before = pool.info().heap;
    expect(() =>
      pool.txSync((tx) => {
        try {
          tx.write(pool.dataOffset, new Uint8Array(100_000)); // larger than the journal: the first chunks were logged
        } catch {
          // ignored on purpose
        }
        return 'done';
      }),
    ).toThrow(expect.objectContaining({ code: 'ETXTOOLARGE' }));
    expect(pool.info().heap).toEqual(before);
    expect(pool.read(pool.dataOffset, 8)).toEqual(new Uint8Array(8));
  });

  it('reports a transaction whose pool closed inside the callback as not committed', async () => {
    const pool = await fresh('eadr');
    expect(() =>
      pool.txSync((tx) => {
        tx.setU64(pool.dataOffset, 5n);
        void pool.close();
      }),
    ).toThrow(expect.objectContaining({ code: 'ECLOSED' }));
  });

  it('ignores the commit log of the pool a new pool replaced', async () => {
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { NodeFileStore } = await import('../host/store/node-file-store.js');
    const { PoolRuntime } = await import('../host/runtime/pool-runtime.js');
    const dir = mkdtempSync(join(tmpdir(), 'wasm-pmem-'));
    try {
      const path = join(dir, 'p.pool');
      const old = await Pool.open({ path, size: 4 * MiB, create: true, device: 'adr', backgroundFlushMs: 0 });
      const block = old.txSync((tx) => (tx.root = tx.alloc(64)));
      for (let i = 0; i < 5; i++) await old.tx((tx) => tx.setU64(block, BigInt(i)));
      // The process dies (its lock is left behind, taken over as stale by the next opener, here simply removed);
      // a new pool replaces the file while the old commit log stays beside it.
      rmSync(`${path}.lock`);
      (await PoolRuntime.create(new NodeFileStore(path), { size: 4 * MiB, device: 'adr', replace: true })).close();
      const pool = await Pool.open({ path, backgroundFlushMs: 0 });
      pool.txSync((tx) => expect(tx.root).toBe(0));
      expect(pool.info().heap.blocks).toBe(0);
      await pool.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
