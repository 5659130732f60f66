// Transactions: one open transaction per instance, redo (micro-journals, the
// default) or undo. Every structural update of the pool, allocator metadata
// included, goes through txWrite, so one commit makes all of it durable at once.
import {
  APPLIED_ADDRESS, CTL_COMMIT_ID, CTL_DURABLE, CTL_DATA_OFFSET, CTL_META_OFFSET, CTL_POOL_SIZE, META_ROOT,
  STATE_LAST_COMMIT_ID, TX_ERR_BOUNDS, TX_ERR_BUSY, TX_ERR_STATE, TX_NONE, TX_OK, TX_REDO, TX_UNDO, ctl, poolAddr, setCtl, staging,
} from "./layout";
import { load64, store64 } from "./atomics";
import { copyBytes } from "./bytes";
import { clearStamps, concurrentBegin, concurrentEnd, concurrentOpen, concurrentRecord, concurrentValid } from "./concurrent";
import {
  journalFree, mayBeWritten, redoAbort, redoAppend, redoBegin, redoCommit, redoRead, redoRecover, redoWrote,
} from "./journal";
import { pm_fence, pool_set_last_commit_id } from "./persist";
import { undoAbort, undoBegin, undoCommit, undoCommittedId, undoRecover, undoWrite } from "./undo";

/** Where this thread stages a word it reads or writes transactionally (the first bytes of its staging area). */
@inline function valueSlot(): usize {
  return staging();
}

// This thread's open transaction (core instances are per thread).
let mode: u32 = TX_NONE;

@inline export function txMode(): u32 {
  return mode;
}

/** Whether a read of [offset, offset + length) must go through the open redo transaction (its writes, or its validation). */
@inline function readsThroughRedo(offset: u32, length: u32): bool {
  return mode == TX_REDO && (concurrentOpen() || mayBeWritten(offset, length));
}

@inline function inData(offset: u32, length: u32): bool {
  return <u64>offset >= ctl<u64>(CTL_DATA_OFFSET) && <u64>length <= ctl<u64>(CTL_POOL_SIZE) - <u64>offset;
}

/** Transactional write anywhere in the pool (the allocator uses it for its metadata). */
export function txWrite(offset: u32, src: usize, length: u32): i32 {
  if (length == 0) return TX_OK;
  const mode = txMode();
  if (mode == TX_REDO) return redoAppend(offset, src, length);
  if (mode == TX_UNDO) return undoWrite(offset, src, length);
  return TX_ERR_STATE;
}

/** Transactional read anywhere in the pool: sees the open transaction's own writes. */
export function txRead(offset: u32, length: u32, dst: usize): void {
  if (txMode() == TX_REDO) redoRead(offset, length, dst);
  else copyBytes(dst, poolAddr(offset), length);
}

/** A transactional 8-byte read: a plain load unless the open redo transaction may have written the line. */
export function txLoad64(offset: u32): u64 {
  if (!readsThroughRedo(offset, 8)) return load<u64>(poolAddr(offset));
  redoRead(offset, 8, valueSlot());
  return load<u64>(valueSlot());
}

export function txLoad32(offset: u32): u32 {
  if (!readsThroughRedo(offset, 4)) return load<u32>(poolAddr(offset));
  redoRead(offset, 4, valueSlot());
  return load<u32>(valueSlot());
}

export function txStore64(offset: u32, value: u64): i32 {
  store<u64>(valueSlot(), value);
  return txWrite(offset, valueSlot(), 8);
}

export function tx_begin(requested: u32): i32 {
  if (mode != TX_NONE || (requested != TX_REDO && requested != TX_UNDO)) return TX_ERR_STATE;
  if (requested == TX_REDO) {
    const status = redoBegin();
    if (status != TX_OK) return status;
  } else {
    undoBegin();
  }
  mode = requested;
  return TX_OK;
}

/**
 * Opens a concurrent redo transaction, without the transaction lock: it stages
 * its writes in this thread's buffer and validates its reads (concurrent.ts).
 * Its host checks the doomed flag (tx_doomed_at) after reads, and commits
 * holding the lock, after tx_validate.
 */
export function tx_begin_concurrent(): i32 {
  if (mode != TX_NONE) return TX_ERR_STATE;
  if (!concurrentBegin()) return TX_ERR_BUSY;
  redoBegin(concurrentRecord());
  mode = TX_REDO;
  return TX_OK;
}

/** Whether the open transaction has written anything (a concurrent one that has not needs no lock to end). */
export function tx_wrote(): bool {
  return mode == TX_REDO && redoWrote();
}

/**
 * Whether nothing the open concurrent transaction read has changed since it
 * began. `locked`: the caller holds the transaction lock and is about to commit,
 * so a journal must also be free to commit into. Else abort it and run it again.
 */
export function tx_validate(locked: bool): bool {
  return mode == TX_REDO && concurrentOpen() && concurrentValid() && (!locked || !redoWrote() || journalFree());
}

/** Writes `length` bytes from linear address `src` at pool offset `offset` (data region only). */
export function tx_write(offset: u32, src: usize, length: u32): i32 {
  if (!inData(offset, length)) return TX_ERR_BOUNDS;
  return txWrite(offset, src, length);
}

export function tx_read(offset: u32, length: u32, dst: usize): i32 {
  if (!inData(offset, length)) return TX_ERR_BOUNDS;
  if (txMode() == TX_NONE) return TX_ERR_STATE;
  txRead(offset, length, dst);
  return TX_OK;
}

// Typed accessors. The host checks bounds first; these trap if it did not.
export function tx_get_u32(offset: u32): u32 {
  if (!inData(offset, 4)) unreachable();
  txRead(offset, 4, valueSlot());
  return load<u32>(valueSlot());
}
export function tx_get_u64(offset: u32): u64 {
  if (!inData(offset, 8)) unreachable();
  return txLoad64(offset);
}
export function tx_get_f64(offset: u32): f64 {
  if (!inData(offset, 8)) unreachable();
  txRead(offset, 8, valueSlot());
  return load<f64>(valueSlot());
}
export function tx_set_u32(offset: u32, value: u32): i32 {
  if (!inData(offset, 4)) return TX_ERR_BOUNDS;
  store<u32>(valueSlot(), value);
  return txWrite(offset, valueSlot(), 4);
}
export function tx_set_u64(offset: u32, value: u64): i32 {
  if (!inData(offset, 8)) return TX_ERR_BOUNDS;
  return txStore64(offset, value);
}
export function tx_set_f64(offset: u32, value: f64): i32 {
  if (!inData(offset, 8)) return TX_ERR_BOUNDS;
  store<f64>(valueSlot(), value);
  return txWrite(offset, valueSlot(), 8);
}

/** Pool offset of the persistent root's u64 (read-only transactions read it there, through their snapshot). */
export function pool_root_at(): u32 {
  return <u32>ctl<u64>(CTL_META_OFFSET) + META_ROOT;
}

/** The persistent root: a pool offset the application finds its data from. */
export function tx_root(): u32 {
  const at = pool_root_at();
  return <u32>(txMode() == TX_NONE ? load64(poolAddr(at)) : txLoad64(at));
}
export function tx_set_root(offset: u32): i32 {
  return txStore64(pool_root_at(), offset);
}

/** Commits the open transaction; returns its commit ID (0 if none was open). */
export function tx_commit(): u64 {
  let id: u64 = 0;
  if (mode == TX_REDO) id = redoCommit();
  else if (mode == TX_UNDO) id = undoCommit();
  concurrentEnd();
  mode = TX_NONE;
  return id;
}

/** Aborts the open transaction: nothing it wrote remains. */
export function tx_abort(): void {
  if (mode == TX_REDO) redoAbort();
  else if (mode == TX_UNDO) undoAbort();
  concurrentEnd();
  mode = TX_NONE;
}

/**
 * Transaction recovery after a crash or at open: replay committed redo
 * journals in commit-ID order, roll back an unfinished undo transaction, and
 * resume commit IDs above every ID seen. Records the result in the pool header.
 */
export function tx_recover(): u64 {
  concurrentEnd();
  mode = TX_NONE;
  clearStamps();
  // Journals at or below the applied floor must not be replayed: a later undo commit may have changed their bytes.
  const floor = max(load64(poolAddr(STATE_LAST_COMMIT_ID)), undoCommittedId());
  const newest = max(redoRecover(floor), undoRecover());
  setCtl<u64>(CTL_COMMIT_ID, newest);
  tx_settle();
  return newest;
}

/**
 * Makes every committed transaction's in-place writes durable (one fence) and
 * only then records the newest commit ID in the pool header as applied, so the
 * header never claims writes that an early write-back left behind.
 */
export function tx_settle(): void {
  pm_fence();
  const newest = ctl<u64>(CTL_COMMIT_ID);
  store64(APPLIED_ADDRESS, newest);
  setCtl<u64>(CTL_DURABLE, newest);
  pool_set_last_commit_id(newest);
}

export function tx_last_commit_id(): u64 {
  return ctl<u64>(CTL_COMMIT_ID);
}
