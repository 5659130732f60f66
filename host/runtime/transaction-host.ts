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
  beginTransaction(log: TxMode): void;
  /** Commits; returns the commit ID, or 0 for a transaction that wrote nothing. */
  commitTransaction(): bigint;
  abortTransaction(): void;
}

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

/** Takes the pool's transaction lock and opens a transaction in the core; gives the lock back if the core refuses. */
export function beginUnderLock(core: Core, lock: TransactionLock, log: TxMode): void {
  lock.acquire(true);
  const status = core.tx_begin(TX_MODES[log]);
  if (status !== 0) {
    lock.release();
    throw new PmemError('EINTERNAL', `tx_begin failed with status ${status}`);
  }
}
