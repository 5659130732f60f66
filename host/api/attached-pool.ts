// A pool seen from a worker thread: transactions and caches on the memory of a
// pool that another thread opened (`pool.workerHandle()` there, `Pool.attach(handle)`
// here). Transactions from every attached thread and the owner are serialized
// by the pool's transaction lock; each is failure-atomic exactly as on the
// owner, with the owner's device rule for durability (eadr: at commit;
// nvdimm-n: at the owner's next save).
import { InvalidArgumentError } from '../errors.js';
import { AttachedRuntime, type PoolHandle } from '../runtime/attached-runtime.js';
import { Kv, findCache } from './kv.js';
import { type Transaction, type TxOptions, parseTxOptions, runTransaction, runTransactionAsync } from './transaction.js';

export class AttachedPool {
  private readonly caches = new Map<string, Kv>();

  private constructor(private readonly runtime: AttachedRuntime) {}

  /** Attaches this thread to the pool behind `handle`, taking one of its worker slots. */
  static async attach(handle: PoolHandle): Promise<AttachedPool> {
    return new AttachedPool(await AttachedRuntime.attach(handle));
  }

  /** The worker slot this thread holds (0 to 7). */
  get slot(): number {
    return this.runtime.slot;
  }

  get dataOffset(): number {
    return this.runtime.dataOffset;
  }

  get dataSize(): number {
    return this.runtime.poolSize - this.runtime.dataOffset;
  }

  /** The newest commit ID of the pool, by any thread. */
  get lastCommitId(): bigint {
    this.runtime.assertRunning();
    return this.runtime.core.tx_last_commit_id();
  }

  /** Runs `fn` as one failure-atomic transaction; waits (bounded) while another thread's transaction runs. */
  txSync<T>(fn: (tx: Transaction) => T, options?: TxOptions): T {
    return runTransaction(this.runtime, fn, parseTxOptions(options));
  }

  /** `txSync` as a promise that waits for the transaction lock without blocking the thread. */
  async tx<T>(fn: (tx: Transaction) => T, options?: TxOptions): Promise<T> {
    return runTransactionAsync(this.runtime, fn, parseTxOptions(options));
  }

  /**
   * The persistent cache named `name`, which the owner created. Lookups take no
   * lock and make no store on HOT entries, even while other threads set; sets
   * and deletes take the pool's transaction lock. Counters are this thread's.
   */
  kv(name: string): Kv {
    this.runtime.assertRunning();
    const open = this.caches.get(name);
    if (open) return open;
    const { offset } = findCache(this.runtime, name, this.caches.size);
    if (offset === 0) throw new InvalidArgumentError(`there is no cache ${name}: the pool's owner creates caches`);
    const statsAt = this.runtime.statsAt(this.caches.size);
    new Uint8Array(this.runtime.memory.buffer, statsAt, this.runtime.core.KV_STATS_BYTES.value).fill(0);
    const kv = new Kv(this.runtime, offset, statsAt, name);
    this.caches.set(name, kv);
    return kv;
  }

  /** Gives the worker slot back (the owner can close its pool once every worker has detached). */
  detach(): void {
    this.runtime.detach();
  }
}
