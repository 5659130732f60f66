// What a transaction needs from the thread it runs on: the pool's own runtime
// (the owning thread) or a worker attached to the pool's memory. Both run the
// same core over the same memory and take the pool's transaction lock.
import type { Core } from '../core/core.js';
import { InvalidArgumentError, OutOfBoundsError, PmemError } from '../errors.js';
import type { SnapshotReader } from './snapshot-reader.js';
import type { TransactionLock } from './transaction-lock.js';

/** Transaction modes of the core's tx_begin. */
export const TX_MODES = { redo: 1, undo: 2 } as const;
export type TxMode = keyof typeof TX_MODES;

export interface TransactionHost {
  readonly core: Core;
  /** This thread's staging area in the core's memory. */
  readonly scratch: Uint8Array;
  readonly inTransaction: boolean;
  /** Throws unless the pool admits work. */
  assertRunning(): void;
  /** Throws a typed error unless [offset, offset + length) is a valid range of the data region. */
  checkDataRange(offset: unknown, length: unknown): void;
  /**
   * The pool's transaction lock: the async `tx` takes it before its transaction
   * begins (which then finds it held), and a read-only transaction that cannot
   * get a snapshot runs holding it.
   */
  readonly lock: TransactionLock;
  /** Lock-free reads for read-only transactions. */
  readonly snapshot: SnapshotReader;
  /** This thread's doomed flag: nonzero once the open concurrent transaction read something a writer changed since it began. */
  readonly doomed: Int32Array;
  /** Opens a transaction; a `concurrent` one takes the lock only at its commit. */
  beginTransaction(log: TxMode, concurrent?: boolean): void;
  /**
   * Commits; returns the commit ID, or 0 for a transaction that wrote nothing.
   * A concurrent transaction may fail here with ConcurrentConflictError (it is
   * then aborted): `wait` false makes a held lock fail that way too.
   */
  commitTransaction(wait?: boolean): bigint;
  abortTransaction(): void;
}

/** The core's doomed flag for a transaction whose read log filled (TOO_MANY_READS in assembly/concurrent.ts). */
const DOOMED_TOO_MANY_READS = 2;

/**
 * A concurrent transaction could not begin or commit, and was aborted: a writer
 * changed what it read ('conflict': it runs again), it read more than its read
 * log holds, or ('busy') the lock was held at its commit and its caller would
 * not wait, or a writer kept changing the pool while it began (both: it runs
 * holding the lock instead).
 */
export class ConcurrentConflictError extends Error {
  private static readonly byReason = new Map<ConflictReason, ConcurrentConflictError>();

  private constructor(readonly reason: ConflictReason) {
    super(`a concurrent transaction must run again (${reason})`);
  }

  /** The one error of each reason: it is control flow, met often, and capturing a stack costs microseconds. */
  static of(reason: ConflictReason): ConcurrentConflictError {
    let error = ConcurrentConflictError.byReason.get(reason);
    if (!error) ConcurrentConflictError.byReason.set(reason, (error = Object.freeze(new ConcurrentConflictError(reason))));
    return error;
  }
}
type ConflictReason = 'conflict' | 'too-many-reads' | 'busy';

/** The range check both hosts make: [offset, offset + length) inside [dataStart, poolSize). */
export function checkDataRange(offset: unknown, length: unknown, dataStart: number, poolSize: number): void {
  if (typeof offset !== 'number' || !Number.isSafeInteger(offset)) {
    throw new InvalidArgumentError('offset must be an integer', { offset });
  }
  if (typeof length !== 'number' || !Number.isSafeInteger(length) || length < 0) {
    throw new InvalidArgumentError('length must be a non-negative integer', { length });
  }
  if (offset < dataStart || offset + length > poolSize) {
    throw new OutOfBoundsError(`[${offset}, ${offset + length}) is outside the data region [${dataStart}, ${poolSize})`, {
      offset,
      length,
      dataOffset: dataStart,
      size: poolSize,
    });
  }
}

/** Why the open concurrent transaction on `host` must run again, as its doomed flag says. */
export function conflictError(host: TransactionHost): ConcurrentConflictError {
  return ConcurrentConflictError.of(host.doomed[0] === DOOMED_TOO_MANY_READS ? 'too-many-reads' : 'conflict');
}

/** The core's status for a concurrent transaction that could not begin (TX_ERR_BUSY in assembly/layout.ts). */
const TX_ERR_BUSY = -8;

/** Opens a concurrent redo transaction in the core (no lock). */
export function beginConcurrent(core: Core): void {
  const status = core.tx_begin_concurrent();
  if (status === TX_ERR_BUSY) throw ConcurrentConflictError.of('busy');
  if (status !== 0) throw new PmemError('EINTERNAL', `tx_begin_concurrent failed with status ${status}`);
}

/**
 * The start of a concurrent transaction's commit: takes the lock (`locked` then
 * tells the host its transaction holds it), checks that the pool still runs and
 * that nothing the transaction read has changed. On any failure the transaction
 * is aborted and the error thrown. Returns false for a transaction that wrote
 * nothing: each of its reads was checked as it was made, so it has ended
 * without the lock and without a commit.
 */
export function lockConcurrentCommit(host: TransactionHost, wait: boolean, locked: () => void): boolean {
  if (!host.core.tx_wrote()) {
    const valid = host.core.tx_validate(false);
    host.abortTransaction();
    if (!valid) throw conflictError(host);
    return false;
  }
  try {
    if (!wait && !host.lock.tryAcquire()) throw ConcurrentConflictError.of('busy');
    if (wait) host.lock.acquire(true);
  } catch (error) {
    host.abortTransaction();
    throw error;
  }
  locked();
  let valid = false;
  try {
    host.assertRunning();
    valid = host.core.tx_validate(true);
  } finally {
    if (!valid) host.abortTransaction();
  }
  if (!valid) throw conflictError(host);
  return true;
}

/** Takes the pool's transaction lock and opens a transaction in the core; gives the lock back if the core refuses. */
export function beginUnderLock(core: Core, lock: TransactionLock, log: TxMode): void {
  lock.acquire(true);
  const status = core.tx_begin(TX_MODES[log]);
  if (status !== 0) {
    lock.release();
    throw new PmemError('EINTERNAL', `tx_begin failed with status ${status}`);
  }
}
