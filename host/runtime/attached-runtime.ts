// A thread attached to a pool that another thread owns: a core instance over
// the owner's shared memory, one worker slot (its scratch area), and the pool's
// transaction lock. Transactions and cache operations run here exactly as on the
// owner; saves, recovery, creating caches and the device model stay with the owner.
import { type Core, coreLayout, instantiateCore } from '../core/core.js';
import { NestedTransactionError, PmemError, PoolClosedError, ReadOnlyTransactionError } from '../errors.js';
import {
  type TransactionHost, type TxMode, beginConcurrent, beginUnderLock, checkDataRange, lockConcurrentCommit,
} from './transaction-host.js';
import { SharedOwnerState } from './owner-state.js';
import { SnapshotReader } from './snapshot-reader.js';
import { TransactionLock } from './transaction-lock.js';
import {
  WORKER_CONCURRENT_BYTES, WORKER_FILTER_BYTES, WORKER_SCRATCH_BYTES, WORKER_STAGING_BYTES, WorkerSlots, workerConcurrentAt, workerScratchAt,
} from './worker-slots.js';

/** What a worker needs to attach to a pool (structured-cloneable: post it to the worker). */
export interface PoolHandle {
  /** The owner's shared memory. */
  readonly memory: WebAssembly.Memory;
  readonly poolSize: number;
  readonly dataOffset: number;
  /** Where the owner's pool and device memory end: the worker slots' scratch areas follow. */
  readonly memoryEnd: number;
}

export class AttachedRuntime implements TransactionHost {
  readonly scratch: Uint8Array;
  readonly snapshot: SnapshotReader;
  readonly doomed: Int32Array;
  private readonly txLock: TransactionLock;
  private readonly ownerState: SharedOwnerState;
  private txLog: TxMode | undefined;
  /** Whether the open transaction is concurrent and has not taken the lock yet. */
  private concurrent = false;
  private detached = false;

  private constructor(
    readonly core: Core,
    private readonly handle: PoolHandle,
    private readonly slots: WorkerSlots,
    readonly slot: number,
  ) {
    const buffer = handle.memory.buffer;
    this.scratch = new Uint8Array(buffer, workerScratchAt(handle.memoryEnd, slot), WORKER_SCRATCH_BYTES);
    // The core instance's answers land in this slot's scratch area; its transactions mark lines in the slot's
    // filter and stage words in the slot's staging area.
    const filterAt = this.scratch.byteOffset + WORKER_SCRATCH_BYTES;
    core.thread_area(this.scratch.byteOffset, filterAt, filterAt + WORKER_FILTER_BYTES, workerConcurrentAt(handle.memoryEnd, slot));
    this.doomed = new Int32Array(buffer, core.tx_doomed_at(), 1);
    this.txLock = new TransactionLock(buffer, core.TX_LOCK_ADDRESS.value);
    this.snapshot = new SnapshotReader(buffer, coreLayout(core).poolBase, core);
    this.ownerState = new SharedOwnerState(buffer, core.OWNER_STATE_ADDRESS.value);
  }

  get memory(): WebAssembly.Memory {
    return this.handle.memory;
  }

  /** Linear address of the counters of this thread's cache handle `index` (after the scratch, filter and staging areas). */
  statsAt(index: number): number {
    return this.scratch.byteOffset + WORKER_SCRATCH_BYTES + WORKER_FILTER_BYTES + WORKER_STAGING_BYTES + index * this.core.KV_STATS_BYTES.value;
  }

  /** Nothing to write: eadr and nvdimm-n pools have no commit log. */
  flushCommits(): void {}

  static async attach(handle: PoolHandle): Promise<AttachedRuntime> {
    // No host hooks: eadr and nvdimm-n pools call them only while the owner explores crash states.
    const core = await instantiateCore(handle.memory, { drainRing() {}, flushHint() {} });
    if (
      core.WRITTEN_FILTER_BYTES.value !== WORKER_FILTER_BYTES ||
      core.STAGING_BYTES.value !== WORKER_STAGING_BYTES ||
      core.CONCURRENT_AREA_BYTES.value !== WORKER_CONCURRENT_BYTES
    ) {
      throw new PmemError('EINTERNAL', 'the core and host disagree on the per-thread area sizes');
    }
    const slots = new WorkerSlots(handle.memory.buffer, core.WORKERS_ADDRESS.value);
    return new AttachedRuntime(core, handle, slots, slots.claim());
  }

  get poolSize(): number {
    return this.handle.poolSize;
  }

  get dataOffset(): number {
    return this.handle.dataOffset;
  }

  get inTransaction(): boolean {
    return this.txLog !== undefined;
  }

  /** Throws ECLOSED once detached or once the owner closed its pool, EPOWEROFF while it is without power. */
  assertRunning(): void {
    if (this.detached) throw new PoolClosedError();
    this.ownerState.assertRunning();
  }

  checkDataRange(offset: unknown, length: unknown): void {
    checkDataRange(offset, length, this.handle.dataOffset, this.handle.poolSize);
  }

  get lock(): TransactionLock {
    return this.txLock;
  }

  beginTransaction(log: TxMode, concurrent = false): void {
    this.assertRunning();
    if (this.inTransaction) throw new NestedTransactionError();
    if (this.snapshot.active) throw new ReadOnlyTransactionError();
    if (concurrent) {
      beginConcurrent(this.core);
      this.concurrent = true;
      this.txLog = log;
      return;
    }
    beginUnderLock(this.core, this.txLock, log);
    this.txLog = log;
    try {
      this.ownerState.assertRunning(); // the owner may have closed or lost power while this thread waited
    } catch (error) {
      this.abortTransaction();
      throw error;
    }
  }

  commitTransaction(wait = true): bigint {
    if (this.concurrent && !lockConcurrentCommit(this, wait, () => (this.concurrent = false))) return 0n;
    try {
      return this.core.tx_commit();
    } finally {
      this.txLog = undefined;
      this.txLock.release();
    }
  }

  abortTransaction(): void {
    this.core.tx_abort();
    this.txLog = undefined;
    if (this.concurrent) this.concurrent = false;
    else this.txLock.release();
  }

  /** Gives the worker slot back; the handle fails with ECLOSED from now on. */
  detach(): void {
    if (this.detached) return;
    if (this.inTransaction) this.abortTransaction();
    this.detached = true;
    this.slots.release(this.slot);
  }
}
