// A transaction handle: reads and writes of the data region, typed accessors,
// the allocator and the persistent root. Valid only inside its callback.
import {
  DoubleFreeError, InvalidArgumentError, InvalidPointerError, NestedTransactionError, NoSpaceError, OutOfBoundsError,
  PmemError, ReadOnlyTransactionError, TransactionFinishedError, TransactionTooLargeError,
} from '../errors.js';
import { type SnapshotReader, SnapshotMovedError } from '../runtime/snapshot-reader.js';
import {
  ConcurrentConflictError, type TransactionHost, type TxMode, conflictError,
} from '../runtime/transaction-host.js';

export type TxLog = TxMode;

export interface TxOptions {
  /** 'redo' (micro-journals, the default) or 'undo'. */
  log?: TxLog;
  /**
   * A transaction that only reads: it takes no lock, so read-only transactions
   * on every thread run at the same time, and beside one writer. It sees one
   * committed state; when a commit lands under it, `fn` runs again (so `fn`
   * must not change anything outside the pool), and if writers keep it from
   * finishing, it runs once more holding the lock.
   */
  readOnly?: boolean;
  /**
   * A redo transaction that runs beside other concurrent transactions on other
   * threads: it takes the lock only to commit. Its reads are checked against
   * every commit since it began; when another writer changed what it read, it
   * is aborted and `fn` runs again (so `fn` must not change anything outside
   * the pool), and if that keeps happening it runs once more holding the lock.
   */
  concurrent?: boolean;
}

export interface ParsedTxOptions {
  log: TxLog;
  readOnly: boolean;
  concurrent: boolean;
}

function booleanOption(options: TxOptions | undefined, name: 'readOnly' | 'concurrent'): boolean {
  const value = options?.[name] ?? false;
  if (typeof value !== 'boolean') throw new InvalidArgumentError(`${name} must be a boolean; got ${String(value)}`);
  return value;
}

export function parseTxOptions(options: TxOptions | undefined): ParsedTxOptions {
  const log = options?.log ?? 'redo';
  if (log !== 'redo' && log !== 'undo') throw new InvalidArgumentError(`log must be 'redo' or 'undo'; got ${String(log)}`);
  const readOnly = booleanOption(options, 'readOnly');
  const concurrent = booleanOption(options, 'concurrent');
  if (concurrent && log === 'undo') {
    throw new InvalidArgumentError("a concurrent transaction logs with redo: an undo transaction writes in place as it goes");
  }
  if (concurrent && readOnly) throw new InvalidArgumentError('a read-only transaction already runs beside every other: drop concurrent');
  return { log, readOnly, concurrent };
}

/** Lock-free attempts of a read-only transaction before it runs holding the lock. */
const READ_ONLY_TRIES = 16;
/** Attempts of a concurrent transaction before it runs holding the lock. */
const CONCURRENT_TRIES = 16;

function checkCallback(fn: unknown): void {
  if (typeof fn !== 'function') throw new InvalidArgumentError('a transaction needs a callback');
}

function checkNotReading(host: TransactionHost): void {
  if (host.snapshot.active) throw new NestedTransactionError('a read-only transaction is running on this thread');
}

function checkSynchronous(result: unknown): void {
  if (result instanceof Promise) {
    result.catch(() => {});
    throw new InvalidArgumentError('a transaction callback must be synchronous (it returned a promise)');
  }
}

/**
 * Runs `fn` as one transaction on `host`: commits if it returns, aborts (and
 * rethrows) if it throws. Returns what `fn` returned.
 */
export function runTransaction<T>(host: TransactionHost, fn: (tx: Transaction) => T, options: ParsedTxOptions): T {
  checkCallback(fn);
  checkNotReading(host);
  if (options.readOnly) return runReadOnly(host, fn);
  if (options.concurrent) {
    const done = runConcurrently(host, fn, true);
    if (!(done instanceof ConcurrentConflictError)) return done.result;
  }
  return (runOnce(host, fn, options.log, false, true) as { result: T }).result;
}

/**
 * Up to CONCURRENT_TRIES concurrent runs of `fn`: the result of the first that
 * commits, or, when it should not run concurrently again now, why the last
 * run did not commit.
 */
function runConcurrently<T>(host: TransactionHost, fn: (tx: Transaction) => T, wait: boolean): { result: T } | ConcurrentConflictError {
  for (let tries = 1; ; tries++) {
    const done = runOnce(host, fn, 'redo', true, wait);
    if (!(done instanceof ConcurrentConflictError) || done.reason !== 'conflict' || tries === CONCURRENT_TRIES) return done;
  }
}

/**
 * Runs `fn` once as a transaction (`concurrent`: without the lock until its
 * commit, which waits for the lock only if `wait`). Returns its result, or,
 * when a concurrent run was aborted and must be repeated, why.
 */
function runOnce<T>(
  host: TransactionHost,
  fn: (tx: Transaction) => T,
  log: TxLog,
  concurrent: boolean,
  wait: boolean,
): { result: T } | ConcurrentConflictError {
  try {
    host.beginTransaction(log, concurrent);
  } catch (error) {
    return rerunOrThrow(error, concurrent);
  }
  const tx = new Transaction(host, log, undefined, concurrent);
  let result: T;
  try {
    result = fn(tx);
    checkSynchronous(result);
    // An operation that failed part-way (its journal filled) may have logged some of its writes: never commit them.
    if (tx.failure) throw tx.failure;
  } catch (error) {
    // A run that read a changed state is repeated whatever it threw: the callback may have caught the
    // conflict, or acted on a read that a commit changed after it was checked.
    const doomed = concurrent && host.inTransaction && !host.core.tx_validate(false);
    if (host.inTransaction) host.abortTransaction();
    tx.finish(undefined);
    return doomed ? conflictError(host) : rerunOrThrow(error, concurrent);
  }
  let commitId: bigint;
  try {
    commitId = host.commitTransaction(wait);
  } catch (error) {
    tx.finish(undefined);
    return rerunOrThrow(error, concurrent);
  }
  tx.finish(commitId === 0n ? undefined : commitId);
  return { result };
}

/** A concurrent run's reason to run again, returned; any other error (or any error of a locked run) is rethrown. */
function rerunOrThrow(error: unknown, concurrent: boolean): ConcurrentConflictError {
  if (concurrent && error instanceof ConcurrentConflictError) return error;
  throw error;
}

/**
 * `runTransaction` for the async `tx`: when another thread holds the
 * transaction lock it is awaited, so this thread keeps running other work
 * meanwhile. A free lock is taken at once and the result returned as is (an
 * await more per transaction cost 5 to 10% of the committed rate of bench/tx's
 * 64 transactions in flight).
 */
export function runTransactionAsync<T>(host: TransactionHost, fn: (tx: Transaction) => T, options: ParsedTxOptions): T | Promise<T> {
  const lock = host.lock;
  if (options.readOnly) {
    checkCallback(fn);
    checkNotReading(host);
    const done = readWithoutLock(host, fn);
    if (done) return done.result;
    return lock.acquireAsync().then(() => readHoldingLock(host, fn));
  }
  const locked = { ...options, concurrent: false };
  const runHoldingLock = () => {
    try {
      return runTransaction(host, fn, locked);
    } finally {
      lock.release();
    }
  };
  if (options.concurrent) {
    checkCallback(fn);
    checkNotReading(host);
    return runConcurrentlyAsync(host, fn, runHoldingLock, 0);
  }
  return lock.tryAcquire() ? runHoldingLock() : lock.acquireAsync().then(runHoldingLock);
}

/** Rounds of concurrent runs an async concurrent transaction makes, waiting for a busy lock between them. */
const CONCURRENT_ROUNDS = 4;

/**
 * The async concurrent transaction: concurrent runs that never block the
 * thread. When the lock is busy at a commit, it waits for the lock without
 * blocking, lets it go, and runs concurrently again; after CONCURRENT_ROUNDS
 * such rounds, or on other failures, it runs holding the lock.
 */
function runConcurrentlyAsync<T>(host: TransactionHost, fn: (tx: Transaction) => T, runHoldingLock: () => T, round: number): T | Promise<T> {
  const done = runConcurrently(host, fn, false);
  if (!(done instanceof ConcurrentConflictError)) return done.result;
  const lock = host.lock;
  if (done.reason !== 'busy' || round + 1 >= CONCURRENT_ROUNDS) return lock.tryAcquire() ? runHoldingLock() : lock.acquireAsync().then(runHoldingLock);
  return lock.acquireAsync().then(() => {
    lock.release();
    return runConcurrentlyAsync(host, fn, runHoldingLock, round + 1);
  });
}

function runReadOnly<T>(host: TransactionHost, fn: (tx: Transaction) => T): T {
  const done = readWithoutLock(host, fn);
  if (done) return done.result;
  host.lock.acquire(true);
  return readHoldingLock(host, fn);
}

/** Up to READ_ONLY_TRIES runs of `fn` on a snapshot; its result once one run saw a single committed state. */
function readWithoutLock<T>(host: TransactionHost, fn: (tx: Transaction) => T): { result: T } | undefined {
  if (host.inTransaction) throw new NestedTransactionError();
  for (let attempt = 0; attempt < READ_ONLY_TRIES; attempt++) {
    host.assertRunning();
    if (!host.snapshot.start()) continue;
    const done = readOnSnapshot(host, fn);
    if (done) return done;
  }
  return undefined;
}

/**
 * `readWithoutLock` while this thread holds the lock (taken by the caller,
 * released here): every writer that moves a snapshot holds the lock or keeps
 * the pool from running, so the first try succeeds or fails with EPOWEROFF.
 */
function readHoldingLock<T>(host: TransactionHost, fn: (tx: Transaction) => T): T {
  try {
    const done = readWithoutLock(host, fn);
    if (done) return done.result;
    throw new PmemError('EINTERNAL', 'the pool kept changing under a read-only transaction that holds the lock');
  } finally {
    host.lock.release();
  }
}

/** One run of `fn` on the snapshot just started: its result, or undefined if a writer moved the snapshot. */
function readOnSnapshot<T>(host: TransactionHost, fn: (tx: Transaction) => T): { result: T } | undefined {
  const tx = new Transaction(host, 'redo', host.snapshot);
  host.snapshot.active = true;
  try {
    const result = fn(tx);
    checkSynchronous(result);
    host.assertRunning(); // memory lost in an outage reads as a valid snapshot of zeros
    return host.snapshot.valid() ? { result } : undefined;
  } catch (error) {
    if (error instanceof SnapshotMovedError || !host.snapshot.valid()) return undefined;
    throw error;
  } finally {
    host.snapshot.active = false;
    tx.finish(undefined);
  }
}

/** Maps a core status code (TX_ERR_* in assembly/layout.ts) onto a typed error. */
function statusError(status: number, context: { offset?: number; size?: number }): PmemError {
  switch (status) {
    case -2:
      return new OutOfBoundsError('the range is outside the data region', context);
    case -3:
      return new TransactionTooLargeError(context);
    case -4:
      return new NoSpaceError(context.size ?? 0);
    case -5:
      return new InvalidPointerError(context.offset ?? 0);
    case -6:
      return new DoubleFreeError(context.offset ?? 0);
    default:
      return new PmemError('EINTERNAL', `transaction engine status ${status}`, context);
  }
}

export class Transaction {
  private open = true;
  /** The commit ID, once the transaction has committed (none for a transaction that wrote nothing). */
  commitId: bigint | undefined;
  /** Set when an operation ran out of journal space part-way: the transaction can then only abort. */
  failure: PmemError | undefined;

  constructor(
    private readonly runtime: TransactionHost,
    readonly log: TxLog,
    /** Set for a read-only transaction: its reads, checked against concurrent writers. */
    private readonly snapshot?: SnapshotReader,
    /** Whether it is a concurrent transaction: every read is checked against commits since it began. */
    private readonly concurrent = false,
  ) {}

  /** `value`, read by a concurrent transaction: unless a writer changed it since the transaction began. */
  private checked<T>(value: T): T {
    if (this.concurrent && this.runtime.doomed[0] !== 0) throw conflictError(this.runtime);
    return value;
  }

  /** Whether the transaction may only read. */
  get readOnly(): boolean {
    return this.snapshot !== undefined;
  }

  /** Ends the handle's life: after this every call throws ETXDONE. */
  finish(commitId: bigint | undefined): void {
    this.open = false;
    this.commitId = commitId;
  }

  /** Throws unless the handle may still be used: its transaction is open and the pool running. */
  private usable(): void {
    if (!this.open) throw new TransactionFinishedError();
    this.runtime.assertRunning();
  }

  private check(offset: number, length: number): number {
    this.usable();
    this.runtime.checkDataRange(offset, length);
    return offset;
  }

  /** `check`, for an operation that changes the pool. */
  private checkWrite(offset: number, length: number): number {
    this.writable();
    return this.check(offset, length);
  }

  private writable(): void {
    this.usable();
    if (this.snapshot) throw new ReadOnlyTransactionError();
  }

  private status(status: number, context: { offset?: number; size?: number } = {}): void {
    if (status === 0) return;
    const error = statusError(status, context);
    if (error instanceof TransactionTooLargeError) this.failure ??= error;
    throw error;
  }

  read(offset: number, length: number): Uint8Array {
    this.check(offset, length);
    if (this.snapshot) return this.snapshot.bytesAt(offset, length);
    const out = new Uint8Array(length);
    const { scratch } = this.runtime;
    for (let done = 0; done < length; done += scratch.length) {
      const n = Math.min(scratch.length, length - done);
      this.status(this.runtime.core.tx_read(offset + done, n, scratch.byteOffset));
      this.checked(out).set(scratch.subarray(0, n), done);
    }
    return out;
  }

  write(offset: number, bytes: Uint8Array): void {
    if (!(bytes instanceof Uint8Array)) throw new InvalidArgumentError('bytes must be a Uint8Array');
    this.checkWrite(offset, bytes.length);
    const { scratch, core } = this.runtime;
    for (let done = 0; done < bytes.length; done += scratch.length) {
      const n = Math.min(scratch.length, bytes.length - done);
      scratch.set(n === bytes.length ? bytes : bytes.subarray(done, done + n)); // no view for the usual single pass
      this.status(core.tx_write(offset + done, scratch.byteOffset, n), { offset });
    }
  }

  getU32(offset: number): number {
    this.check(offset, 4);
    return this.snapshot ? this.snapshot.u32(offset) : this.checked(this.runtime.core.tx_get_u32(offset));
  }
  setU32(offset: number, value: number): void {
    if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) throw new InvalidArgumentError('value must be a u32');
    this.status(this.runtime.core.tx_set_u32(this.checkWrite(offset, 4), value), { offset });
  }
  getU64(offset: number): bigint {
    this.check(offset, 8);
    return this.snapshot ? this.snapshot.u64(offset) : this.checked(this.runtime.core.tx_get_u64(offset));
  }
  setU64(offset: number, value: bigint): void {
    if (typeof value !== 'bigint' || value < 0n || value >= 1n << 64n) throw new InvalidArgumentError('value must be a u64 bigint');
    this.status(this.runtime.core.tx_set_u64(this.checkWrite(offset, 8), value), { offset });
  }
  getF64(offset: number): number {
    this.check(offset, 8);
    return this.snapshot ? this.snapshot.f64(offset) : this.checked(this.runtime.core.tx_get_f64(offset));
  }
  setF64(offset: number, value: number): void {
    if (typeof value !== 'number') throw new InvalidArgumentError('value must be a number');
    this.status(this.runtime.core.tx_set_f64(this.checkWrite(offset, 8), value), { offset });
  }

  /** Allocates `size` bytes from the persistent heap; the block is the transaction's until it commits. */
  alloc(size: number): number {
    this.writable();
    if (!Number.isSafeInteger(size) || size <= 0 || size > 0xffffffff) {
      throw new InvalidArgumentError('size must be a positive integer', { size });
    }
    const result = this.checked(Number(this.runtime.core.heap_alloc(size)));
    if (result < 0) this.status(result, { size });
    return result;
  }

  /** Frees a block returned by `alloc`. */
  free(offset: number): void {
    this.writable();
    if (!Number.isSafeInteger(offset) || offset < 0 || offset > 0xffffffff) throw new InvalidPointerError(offset);
    this.status(this.checked(this.runtime.core.heap_free(offset)), { offset });
  }

  /** The persistent root: the offset from which an application finds its data (0 when unset). */
  get root(): number {
    this.usable();
    return this.snapshot ? Number(this.snapshot.u64(this.runtime.core.pool_root_at())) : this.checked(this.runtime.core.tx_root());
  }

  set root(offset: number) {
    this.writable();
    if (offset !== 0) this.runtime.checkDataRange(offset, 0);
    this.status(this.runtime.core.tx_set_root(offset), { offset });
  }
}
