// Worker threads on one pool: transactions from several workers and the owner,
// serialized by the pool's transaction lock, with exact final counts, a valid
// allocator, and bounded waits that fail with a typed error.
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { MemoryStore, Pool, type PoolHandle, type Transaction } from '../host/api/index.js';
import { checkPool } from '../host/runtime/check.js';
import { TransactionLock } from '../host/runtime/transaction-lock.js';
import { type Operation, nonLinearizableKeys } from './linearizability.js';
import { MiB, codeOf } from './helpers.js';

const WORKER = new URL('./fixtures/tx-worker.mjs', import.meta.url);

interface WorkerResult {
  slot: number;
  afterDetach: string;
}

function startWorker(workerData: Record<string, unknown>) {
  const worker = new Worker(WORKER, { workerData });
  let attached: () => void = () => {};
  const isAttached = new Promise<void>((resolve) => (attached = resolve));
  const done = new Promise<WorkerResult>((resolve, reject) => {
    // 'attached', then answers to probes (strings), then the result (an object).
    worker.on('message', (message) => (message === 'attached' ? attached() : typeof message === 'object' && resolve(message)));
    worker.once('error', reject);
    worker.once('exit', (code) => code !== 0 && reject(new Error(`worker exited with ${code}`)));
  });
  return { worker, isAttached, done };
}

interface KvWorkerResult {
  counts: { gets: number; batches: number; sets: number; deletes: number; wrong: number; torn: number };
  failures: string[];
  stats: { hits: number; misses: number; sets: number };
  model: Array<[number, number]>;
}

function startKvWorker(workerData: Record<string, unknown>): Promise<KvWorkerResult> {
  const worker = new Worker(new URL('./fixtures/kv-worker.mjs', import.meta.url), { workerData });
  return new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', (code) => code !== 0 && reject(new Error(`worker exited with ${code}`)));
  });
}

async function sharedCounters(pool: Pool, workers: number) {
  return pool.txSync((tx) => {
    const root = tx.alloc(8 + workers * 16);
    tx.write(root, new Uint8Array(8 + workers * 16));
    tx.root = root;
    return root;
  });
}

/** Resolves once `count` auditors of test/fixtures/bank-worker.mjs have started (word 1 of their `stop` buffer). */
async function auditorsStarted(stop: SharedArrayBuffer, count: number): Promise<void> {
  while (Atomics.load(new Int32Array(stop), 1) < count) await new Promise((resolve) => setTimeout(resolve, 1));
}

describe('workers on one pool', () => {
  it('runs transactions from 4 workers and the owner with exact counts and a valid heap', async () => {
    for (const device of ['eadr', 'nvdimm-n'] as const) {
      const store = new MemoryStore();
      const pool = await Pool.open({ store, size: 8 * MiB, create: true, device, backgroundFlushMs: 5 });
      const workers = 4;
      const transactions = 25_000;
      const root = await sharedCounters(pool, workers);
      const handle: PoolHandle = pool.workerHandle();
      const started = Array.from({ length: workers }, (_, index) => startWorker({ handle, index, workers, transactions, root }));
      // The owner's own transactions contend for the same lock meanwhile (and its background saves).
      let ownerTransactions = 0;
      const results = Promise.all(started.map((s) => s.done));
      let finished = false;
      void results.finally(() => (finished = true));
      while (!finished) {
        for (let i = 0; i < 50; i++) pool.txSync((tx) => tx.setU64(root, tx.getU64(root) + 1n));
        ownerTransactions += 50;
        await new Promise((resolve) => setImmediate(resolve));
      }
      const done = await results;
      expect(done.every((r) => r.afterDetach === 'ECLOSED'), device).toBe(true);

      pool.txSync((tx) => {
        expect(tx.getU64(root), device).toBe(BigInt(workers * transactions + ownerTransactions));
        for (let index = 0; index < workers; index++) expect(tx.getU64(root + 8 + index * 8), device).toBe(BigInt(transactions));
      });
      await pool.close();
      const report = await checkPool(store);
      expect(report.valid, `${device}: ${JSON.stringify(report)}`).toBe(true);
      const reopened = await Pool.open({ store, backgroundFlushMs: 0 });
      reopened.txSync((tx) => expect(tx.getU64(tx.root)).toBe(BigInt(workers * transactions + ownerTransactions)));
      await reopened.close();
    }
  }, 120_000);

  it('runs 1,000,000 cache operations from 4 workers, five times: exact contents and counts, no torn or stale read', async () => {
    const seed = Number(process.env.SEED ?? 20261121);
    const workers = 4;
    const operations = 250_000;
    // Few keys make sets and lookups of other threads meet on the same records and blocks; many make long chains;
    // a cache growing from 16 entries moves its buckets while the other workers look keys up.
    const configs = [[8, 'none', false], [8, 'two-phase', false], [2000, 'none', false], [2000, 'two-phase', false], [2000, 'none', true]] as const;
    for (const [keysPerWorker, evict, grows] of configs) {
      const context = `seed ${seed}, ${keysPerWorker} keys per worker, evict ${evict}${grows ? ', growing' : ''}`;
      const pool = await Pool.open({ store: new MemoryStore(), size: 32 * MiB, create: true, device: 'eadr', backgroundFlushMs: 0 });
      // Without eviction every key fits; with it, the cache holds a quarter of them.
      const all = workers * keysPerWorker;
      const kv = pool.kv('shared', grows ? { capacity: 16, maxCapacity: all, evict } : { capacity: evict === 'none' ? all : all / 4, evict });
      const { capacity } = kv.stats();
      const handle = pool.workerHandle();
      const runs = Array.from({ length: workers }, (_, index) =>
        startKvWorker({ handle, index, workers, operations, keysPerWorker, seed, evicting: evict !== 'none' }),
      );
      const results = await Promise.all(runs);
      for (const { counts, failures, stats } of results) {
        expect(failures, context).toEqual([]);
        expect(counts.wrong + counts.torn, context).toBe(0);
        expect(stats.hits + stats.misses, context).toBe(counts.gets);
        expect(stats.sets, context).toBe(counts.sets);
      }
      // A batch is one operation of BATCH (24) lookups.
      expect(results.reduce((n, r) => n + r.counts.gets - 23 * r.counts.batches + r.counts.sets + r.counts.deletes, 0)).toBe(workers * operations);
      kv.check();
      const stored = new Map(kv.entries().map((e) => [Number(e.key), new DataView(e.value.buffer).getUint32(4, true)]));
      if (evict === 'none') {
        const expected = new Map(results.flatMap((r) => r.model));
        expect(stored, context).toEqual(expected);
        if (grows) expect(kv.stats().capacity, context).toBeGreaterThan(1000); // it grew from 16
      } else {
        // Every entry left is its key's newest version.
        const newest = new Map(results.flatMap((r) => r.model));
        for (const [key, version] of stored) expect(version, `${context}: key ${key}`).toBe(newest.get(key));
        expect(stored.size, context).toBeLessThanOrEqual(capacity);
      }
      await pool.close();
    }
  }, 180_000);

  it('records small cache histories from 3 workers that are linearizable', async () => {
    const seed = Number(process.env.SEED ?? 20261121);
    let overlapping = 0;
    for (let round = 0; round < 20; round++) {
      const context = `seed ${seed}, round ${round}`;
      const pool = await Pool.open({ store: new MemoryStore(), size: 4 * MiB, create: true, device: 'eadr', backgroundFlushMs: 0 });
      pool.kv('history', { capacity: 16, evict: 'none' });
      const clockBuffer = new SharedArrayBuffer(8);
      const handle = pool.workerHandle();
      const histories = await Promise.all(
        Array.from({ length: 3 }, (_, index) => {
          const worker = new Worker(new URL('./fixtures/kv-history-worker.mjs', import.meta.url), {
            workerData: { handle, clockBuffer, index, workers: 3, operations: 40, keys: 3, seed: seed + round },
          });
          return new Promise<Operation[]>((resolve, reject) => {
            worker.once('message', resolve);
            worker.once('error', reject);
          });
        }),
      );
      expect(nonLinearizableKeys(histories.flat()), context).toEqual([]);
      // Pairs of operations of different workers on one key whose intervals overlap: what makes the check worth it.
      for (const [a, b] of [[0, 1], [0, 2], [1, 2]]) {
        for (const x of histories[a]) {
          for (const y of histories[b]) if (x.key === y.key && x.invoked < y.returned && y.invoked < x.returned) overlapping++;
        }
      }
      await pool.close();
    }
    expect(overlapping, `seed ${seed}`).toBeGreaterThan(20);
  }, 120_000);

  it('the linearizability check rejects a history that no order explains', () => {
    const stale: Operation[] = [
      { kind: 'set', key: 1, value: 10, invoked: 0, returned: 1 },
      { kind: 'set', key: 1, value: 20, invoked: 2, returned: 3 },
      { kind: 'get', key: 1, result: 10, invoked: 4, returned: 5 }, // reads a value overwritten before it began
    ];
    expect(nonLinearizableKeys(stale)).toEqual([1]);
    const overlapping: Operation[] = [
      { kind: 'set', key: 1, value: 10, invoked: 0, returned: 5 },
      { kind: 'get', key: 1, result: undefined, invoked: 1, returned: 2 },
      { kind: 'get', key: 1, result: 10, invoked: 3, returned: 4 },
      { kind: 'delete', key: 2, result: false, invoked: 0, returned: 1 },
    ];
    expect(nonLinearizableKeys(overlapping)).toEqual([]);
  });

  it('will not close while a worker is attached; a worker sees the owner lose power and regain it', async () => {
    const pool = await Pool.open({ store: new MemoryStore(), size: 4 * MiB, create: true, device: 'eadr', backgroundFlushMs: 0 });
    const root = await sharedCounters(pool, 1);
    const { worker, isAttached, done } = startWorker({ handle: pool.workerHandle(), index: 0, workers: 1, transactions: 10, root, holdUntilMessage: true });
    const answer = () => new Promise((resolve) => worker.once('message', resolve));
    await isAttached;
    await expect(pool.close()).rejects.toMatchObject({ code: 'EBUSY' });
    pool.txSync((tx) => expect(tx.getU64(root + 8)).toBe(10n)); // still open, and the worker's commits are there

    await pool.platform.acPowerLoss({ holdUpMs: 30_000 });
    let reply = answer();
    worker.postMessage('probe');
    expect(await reply).toBe('EPOWEROFF');
    await pool.platform.powerRestore();
    reply = answer();
    worker.postMessage('probe');
    expect(await reply).toBe('ok');
    pool.txSync((tx) => expect(tx.getU64(root + 8)).toBe(11n)); // the image saved at the power loss, and one more

    worker.postMessage('detach');
    expect((await done).afterDetach).toBe('ECLOSED');
    await pool.close();
    expect(codeOf(() => pool.txSync(() => {}))).toBe('ECLOSED');
  }, 30_000);

  it('attaches only to eadr and nvdimm-n pools', async () => {
    const pool = await Pool.open({ store: new MemoryStore(), size: 4 * MiB, create: true, device: 'adr', backgroundFlushMs: 0 });
    expect(codeOf(() => pool.workerHandle())).toBe('ENOTSUP');
    await pool.close();
  });

  it('a worker looking keys up while the owner grows the cache, both rehash modes, never misses one', async () => {
    for (const rehash of ['stop-the-world', 'incremental'] as const) {
      const pool = await Pool.open({ store: new MemoryStore(), size: 16 * MiB, create: true, device: 'eadr', backgroundFlushMs: 0 });
      const kv = pool.kv('growing', { capacity: 16, maxCapacity: 1 << 14, evict: 'none', rehash });
      for (let key = 0; key < 16; key++) kv.set(key, `v${key}`);
      const signal = new SharedArrayBuffer(4);
      const reader = new Worker(new URL('./fixtures/kv-reader.mjs', import.meta.url), { workerData: { handle: pool.workerHandle(), signal, keys: 16 } });
      const report = new Promise<{ reads: number; missed: number[] }>((resolve) => reader.on('message', (m) => m !== 'reading' && resolve(m)));
      await new Promise((resolve) => reader.once('message', resolve));
      // Ten doublings, each with a bucket move; stop-the-world moves of up to 64 buckets end in one commit.
      for (let key = 16; key < 1 << 14; key++) kv.set(key, new Uint8Array(24).fill(key & 255));
      Atomics.store(new Int32Array(signal), 0, 1);
      const { reads, missed } = await report;
      expect(missed, rehash).toEqual([]);
      expect(reads).toBeGreaterThan(1000);
      kv.check();
      await new Promise((resolve) => reader.once('exit', resolve));
      await pool.close();
    }
  });

  it('pool.tx waits for a lock a worker holds without blocking the event loop, and sees the worker\'s commit', async () => {
    const pool = await Pool.open({ store: new MemoryStore(), size: 4 * MiB, create: true, device: 'eadr', backgroundFlushMs: 0 });
    const root = pool.txSync((tx) => {
      const block = tx.alloc(8);
      tx.root = block;
      return block;
    });
    const signal = new SharedArrayBuffer(4);
    const holder = new Worker(new URL('./fixtures/tx-holder.mjs', import.meta.url), { workerData: { handle: pool.workerHandle(), signal, root } });
    await new Promise((resolve) => holder.once('message', resolve));
    let settled = false;
    const waiting = pool.tx((tx) => tx.getU64(root)).finally(() => (settled = true));
    // The owner's thread keeps running: a timer fires while the worker still holds the lock.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(settled).toBe(false);
    Atomics.store(new Int32Array(signal), 0, 1);
    Atomics.notify(new Int32Array(signal), 0);
    expect(await waiting).toBe(42n); // it ran after the worker's transaction committed
    await new Promise((resolve) => holder.once('message', resolve));
    await pool.close();
  });

  it('a read-only transaction runs while a worker holds the lock, and sees only committed state', async () => {
    const pool = await Pool.open({ store: new MemoryStore(), size: 4 * MiB, create: true, device: 'eadr', backgroundFlushMs: 0 });
    const root = pool.txSync((tx) => {
      const block = tx.alloc(8);
      tx.setU64(block, 7n);
      tx.root = block;
      return block;
    });
    const signal = new SharedArrayBuffer(4);
    const holder = new Worker(new URL('./fixtures/tx-holder.mjs', import.meta.url), { workerData: { handle: pool.workerHandle(), signal, root } });
    await new Promise((resolve) => holder.once('message', resolve));
    const started = performance.now();
    expect(pool.txSync((tx) => [tx.root, tx.getU64(root)], { readOnly: true })).toEqual([root, 7n]);
    expect(await pool.tx((tx) => tx.getU64(root), { readOnly: true })).toBe(7n);
    expect(performance.now() - started, 'no wait for the lock').toBeLessThan(1000);
    Atomics.store(new Int32Array(signal), 0, 1);
    Atomics.notify(new Int32Array(signal), 0);
    await new Promise((resolve) => holder.once('message', resolve));
    expect(pool.txSync((tx) => tx.getU64(root), { readOnly: true })).toBe(42n);
    await pool.close();
  });

  it('read-only transactions on 2 workers and the owner never see a transfer half done, redo or undo', async () => {
    const seed = Date.now() % 1_000_000;
    try {
      const pool = await Pool.open({ store: new MemoryStore(), size: 8 * MiB, create: true, device: 'eadr', backgroundFlushMs: 0 });
      const count = 32;
      const total = count * 1000;
      const accounts = pool.txSync((tx) => {
        const at = tx.alloc(count * 8);
        for (let i = 0; i < count; i++) tx.setU64(at + i * 8, 1000n);
        return at;
      });
      const stop = new SharedArrayBuffer(8);
      const run = (data: Record<string, unknown>) => {
        const worker = new Worker(new URL('./fixtures/bank-worker.mjs', import.meta.url), {
          workerData: { handle: pool.workerHandle(), accounts, count, total, stop, ...data },
        });
        return new Promise<{ sums?: number; wrong?: number; transactions?: number }>((resolve, reject) => {
          worker.once('message', resolve);
          worker.once('error', reject);
        });
      };
      const auditors = [run({ role: 'audit' }), run({ role: 'audit' })];
      await auditorsStarted(stop, 2);
      let transfersDone = false;
      const transfers = Promise.all([run({ role: 'transfer', transactions: 20_000, seed }), run({ role: 'transfer', transactions: 20_000, seed: seed + 1 })]);
      transfers.finally(() => (transfersDone = true)).catch(() => {});
      const sumAll = (tx: Transaction) => {
        let sum = 0n;
        for (let i = 0; i < count; i++) sum += tx.getU64(accounts + i * 8);
        return sum;
      };
      let ownerSums = 0;
      let ownerWrong = 0;
      while (!transfersDone) {
        for (let i = 0; i < 100; i++, ownerSums++) if (pool.txSync(sumAll, { readOnly: true }) !== BigInt(total)) ownerWrong++;
        await new Promise((resolve) => setImmediate(resolve));
      }
      expect((await transfers).map((t) => t.transactions)).toEqual([20_000, 20_000]);
      Atomics.store(new Int32Array(stop), 0, 1);
      const audits = await Promise.all(auditors);
      expect(audits.map((a) => a.wrong)).toEqual([0, 0]);
      expect(ownerWrong).toBe(0);
      for (const audit of audits) expect(audit.sums).toBeGreaterThan(0);
      expect(ownerSums).toBeGreaterThan(0);
      expect(pool.txSync(sumAll)).toBe(BigInt(total));
      await pool.close();
    } catch (error) {
      throw new Error(`seed ${seed}: ${(error as Error).message}`, { cause: error });
    }
  });

  it('concurrent transactions on 2 workers and the owner commit every transfer exactly once, beside undo transactions and audits', async () => {
    const seed = Date.now() % 1_000_000;
    try {
      const store = new MemoryStore();
      const pool = await Pool.open({ store, size: 8 * MiB, create: true, device: 'eadr', backgroundFlushMs: 0 });
      const count = 16;
      const total = count * 1000;
      const workers = 2;
      // The accounts, then the count of committed transfers, then one count per worker and one for the owner.
      const accounts = pool.txSync((tx) => {
        const at = tx.alloc(count * 8 + 8 + (workers + 1) * 8);
        for (let i = 0; i < count; i++) tx.setU64(at + i * 8, 1000n);
        return at;
      });
      const committed = accounts + count * 8;
      const ownerWord = committed + 8 + workers * 8;
      const start = new SharedArrayBuffer(4);
      const stop = new SharedArrayBuffer(8);
      const spawn = <T>(url: string, data: Record<string, unknown>) => {
        const worker = new Worker(new URL(url, import.meta.url), { workerData: { handle: pool.workerHandle(), accounts, count, total, stop, ...data } });
        return new Promise<T>((resolve, reject) => {
          worker.once('message', resolve);
          worker.once('error', reject);
        });
      };
      const auditors = [spawn<{ sums: number; wrong: number }>('./fixtures/bank-worker.mjs', { role: 'audit' })];
      await auditorsStarted(stop, 1);
      const transactions = 100_000;
      const transferring = Array.from({ length: workers }, (_, index) =>
        spawn<{ transactions: number; runs: number }>('./fixtures/concurrent-worker.mjs', {
          index, transactions, seed: seed + index, undoEvery: 10, start,
        }),
      );
      const gate = new Int32Array(start);
      while (Atomics.load(gate, 0) < workers) await new Promise((resolve) => setTimeout(resolve, 1));
      Atomics.store(gate, 0, -1);
      Atomics.notify(gate, 0);
      let done = false;
      const finished = Promise.all(transferring).finally(() => (done = true));
      let ownerTransactions = 0;
      while (!done) {
        for (let i = 0; i < 100; i++, ownerTransactions++) {
          pool.txSync((tx) => {
            tx.setU64(committed, tx.getU64(committed) + 1n);
            tx.setU64(ownerWord, tx.getU64(ownerWord) + 1n);
          }, { concurrent: true });
        }
        await new Promise((resolve) => setImmediate(resolve));
      }
      const results = await finished;
      Atomics.store(new Int32Array(stop), 0, 1);
      const audits = await Promise.all(auditors);
      const state = pool.txSync((tx) => {
        let sum = 0n;
        for (let i = 0; i < count; i++) sum += tx.getU64(accounts + i * 8);
        const own = Array.from({ length: workers + 1 }, (_, i) => tx.getU64(committed + 8 + i * 8));
        return { sum, committed: tx.getU64(committed), own };
      });
      expect(state).toEqual({
        sum: BigInt(total),
        committed: BigInt(workers * transactions + ownerTransactions),
        own: [...results.map(() => BigInt(transactions)), BigInt(ownerTransactions)],
      });
      expect(audits.map((a) => a.wrong)).toEqual([0]);
      expect(audits[0].sums).toBeGreaterThan(0);
      // Bodies overlapped: some met a commit that changed what they read, and ran again.
      expect(results.reduce((n, r) => n + r.runs, 0)).toBeGreaterThan(workers * transactions);
      await pool.close();
      const report = await checkPool(store);
      expect(report.valid, JSON.stringify(report)).toBe(true);
    } catch (error) {
      throw new Error(`seed ${seed}: ${(error as Error).message}`, { cause: error });
    }
  });

  it('a concurrent transaction runs again when another thread commits a change to what it read', async () => {
    const pool = await Pool.open({ store: new MemoryStore(), size: 4 * MiB, create: true, device: 'eadr', backgroundFlushMs: 0 });
    const root = pool.txSync((tx) => (tx.root = tx.alloc(8)));
    const signal = new SharedArrayBuffer(4);
    const holder = new Worker(new URL('./fixtures/tx-holder.mjs', import.meta.url), { workerData: { handle: pool.workerHandle(), signal, root } });
    await new Promise((resolve) => holder.once('message', resolve)); // 'holding': inside its transaction, it will set 42
    const seen: bigint[] = [];
    pool.txSync((tx) => {
      const value = tx.getU64(root);
      seen.push(value);
      if (seen.length === 1) {
        Atomics.store(new Int32Array(signal), 0, 1); // the holder commits 42 while this body is open
        Atomics.notify(new Int32Array(signal), 0);
      }
      tx.setU64(root, value + 1n);
    }, { concurrent: true });
    expect(seen).toEqual([0n, 42n]);
    expect(pool.txSync((tx) => tx.getU64(root))).toBe(43n);
    await new Promise((resolve) => holder.once('message', resolve));
    // Concurrent transactions that throw, or write nothing, leave no lock held: another thread then takes it at once.
    expect(() => pool.txSync((tx) => {
      tx.setU64(root, 1n);
      throw new Error('no');
    }, { concurrent: true })).toThrow('no');
    expect(pool.txSync((tx) => tx.getU64(root), { concurrent: true })).toBe(43n);
    Atomics.store(new Int32Array(signal), 0, 0);
    const next = new Worker(new URL('./fixtures/tx-holder.mjs', import.meta.url), { workerData: { handle: pool.workerHandle(), signal, root } });
    await new Promise((resolve) => next.once('message', resolve)); // 'holding': it took the lock
    Atomics.store(new Int32Array(signal), 0, 1);
    Atomics.notify(new Int32Array(signal), 0);
    await new Promise((resolve) => next.once('message', resolve));
    await pool.close();
  });

  it("a worker's concurrent transaction open across the owner's power loss runs again on the restored pool", async () => {
    const pool = await Pool.open({ store: new MemoryStore(), size: 4 * MiB, create: true, device: 'eadr', backgroundFlushMs: 0 });
    const root = pool.txSync((tx) => (tx.root = tx.alloc(8)));
    const signal = new SharedArrayBuffer(4);
    const holder = new Worker(new URL('./fixtures/tx-holder.mjs', import.meta.url), {
      workerData: { handle: pool.workerHandle(), signal, root, options: { concurrent: true } },
    });
    const messages: unknown[] = [];
    holder.on('message', (message) => messages.push(message));
    const until = async (count: number) => {
      while (messages.length < count) await new Promise((resolve) => setTimeout(resolve, 1));
    };
    await until(1); // its body is open, and holds no lock: the power loss goes ahead
    await pool.platform.acPowerLoss({ holdUpMs: 30_000 });
    await pool.platform.powerRestore();
    Atomics.store(new Int32Array(signal), 0, 1);
    Atomics.notify(new Int32Array(signal), 0);
    await until(3);
    expect(messages).toEqual(['holding', 'holding', 'done']); // the outage doomed the first run
    expect(pool.txSync((tx) => tx.getU64(root))).toBe(42n);
    await pool.close();
  }, 30_000);

  it('a thread that may not block gets EAGAIN from a held lock at once, and takes it asynchronously once free', async () => {
    const buffer = new SharedArrayBuffer(12);
    const words = new Int32Array(buffer);
    const holder = new Worker(new URL('./fixtures/lock-holder.mjs', import.meta.url), { workerData: { buffer, holdMs: 100 } });
    await new Promise((resolve) => holder.once('message', resolve));
    const mainThread = new TransactionLock(buffer, 0, 10_000, false);
    const started = performance.now();
    expect(codeOf(() => mainThread.acquire(true))).toBe('EAGAIN'); // as a transaction takes it
    expect(performance.now() - started).toBeLessThan(50);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const acquired = mainThread.acquireAsync();
    Atomics.store(words, 1, 1); // the holder lets go 100 ms from now
    Atomics.notify(words, 1);
    await acquired;
    clearInterval(timer);
    expect(Atomics.load(words, 2), 'acquired only after the holder released').toBe(1);
    expect(ticks, 'the event loop ran while it waited').toBeGreaterThan(3);
    mainThread.release();
    await new Promise((resolve) => holder.once('exit', resolve));
  });

  it('a release wakes a blocked waiter even when an asynchronous waiter ahead of it is busy', async () => {
    const buffer = new SharedArrayBuffer(12);
    const words = new Int32Array(buffer);
    const holder = new Worker(new URL('./fixtures/lock-holder.mjs', import.meta.url), { workerData: { buffer, holdMs: 0 } });
    const exits = [new Promise((resolve) => holder.once('exit', resolve))];
    await new Promise((resolve) => holder.once('message', resolve));
    const released = new Promise<{ releasedAt: number }>((resolve) => holder.once('message', resolve));
    // This thread waits first, asynchronously; a worker then blocks in Atomics.wait behind it.
    const mainThread = new TransactionLock(buffer, 0);
    const ours = mainThread.acquireAsync();
    const waiter = new Worker(new URL('./fixtures/lock-waiter.mjs', import.meta.url), { workerData: { buffer } });
    exits.push(new Promise((resolve) => waiter.once('exit', resolve)));
    await new Promise((resolve) => waiter.once('message', resolve));
    const acquired = new Promise<{ acquiredAt: number }>((resolve) => waiter.once('message', resolve));
    await new Promise((resolve) => setTimeout(resolve, 15)); // the worker is asleep in its wait by now
    Atomics.store(words, 1, 1); // the holder lets go
    Atomics.notify(words, 1);
    // This thread stays busy, so its own wait cannot take the lock for a while.
    const busyUntil = performance.now() + 120;
    while (performance.now() < busyUntil);
    const { releasedAt } = await released;
    const { acquiredAt } = await acquired;
    // One woken waiter that cannot run must not leave the lock free while the others sleep out their 50 ms slice.
    expect(acquiredAt - releasedAt).toBeLessThan(20);
    await ours;
    mainThread.release();
    await Promise.all(exits);
  });

  it('bounds every wait for the transaction lock: ETIMEDOUT past the bound, the lock once it is free', async () => {
    const buffer = new SharedArrayBuffer(12);
    const words = new Int32Array(buffer);
    const holder = new Worker(new URL('./fixtures/lock-holder.mjs', import.meta.url), { workerData: { buffer, holdMs: 200 } });
    await new Promise((resolve) => holder.once('message', resolve));
    const impatient = new TransactionLock(buffer, 0, 100);
    const started = performance.now();
    expect(codeOf(() => impatient.acquire())).toBe('ETIMEDOUT');
    expect(performance.now() - started).toBeGreaterThanOrEqual(90);
    Atomics.store(words, 1, 1); // the holder lets go 200 ms from now
    Atomics.notify(words, 1);
    const patient = new TransactionLock(buffer, 0, 10_000);
    patient.acquire();
    expect(Atomics.load(words, 2), 'acquired only after the holder released').toBe(1);
    patient.release();
    await new Promise((resolve) => holder.once('exit', resolve));
  });

});
