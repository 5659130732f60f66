// Undo-log transactions (failure-atomic, cache-line granular; patents.md §5).
//
// Before a line is first written in place, its old contents go into the undo
// log as a checksummed entry, and the entry is fenced before the store. Commit
// flushes the written lines, fences, then marks the log done and fences again.
// Recovery rolls back a transaction whose log is still active. The log state is
// one 8-byte word (power-fail atomic): transaction ID << 2 | state.
import {
  APPLIED_ADDRESS, CTL_COMMIT_ID, CTL_DURABLE, CTL_UNDO_CURSOR, CTL_TX_ID, CTL_UNDO_OFFSET, CTL_UNDO_SIZE, JOURNAL_HEADER,
  STATE_LAST_COMMIT_ID, TX_ERR_TOO_LARGE, TX_OK, WRITE_SEQUENCE_ADDRESS, ctl, poolAddr, setCtl,
} from "./layout";
import { add32, load64, store64 } from "./atomics";
import { pm_fence, pm_flush, pm_mark_dirty, storeStateWord } from "./persist";
import { xxh64 } from "./xxhash64";
import { sealRecord, writeEntry } from "./journal";

const UNDO_SEED: u64 = 0x4f44_4e55_4d45_4d50;
const STATE_ACTIVE: u64 = 1;
const STATE_DONE: u64 = 2;
const LINE: u32 = 64;
const ENTRIES: u32 = 64; // entries start on the second line
const ENTRY_SIZE: u32 = 80; // u32 line offset, u32 index, u64 checksum, 64 bytes of old data

@inline function logOffset(): usize {
  return <usize>ctl<u64>(CTL_UNDO_OFFSET);
}

@inline function capacity(): u32 {
  return <u32>((ctl<u64>(CTL_UNDO_SIZE) - ENTRIES) / ENTRY_SIZE);
}

@inline function entryAddr(index: u32): usize {
  return poolAddr(logOffset() + ENTRIES + <usize>index * ENTRY_SIZE);
}

function entryChecksum(entry: usize, txId: u64): u64 {
  return xxh64(entry + 16, LINE, xxh64(entry, 8, txId ^ UNDO_SEED));
}

function setState(txId: u64, state: u64): void {
  store64(poolAddr(logOffset()), (txId << 2) | state);
  pm_mark_dirty(logOffset(), 8);
  pm_flush(logOffset(), 8);
}

function isLogged(line: u32, count: u32): bool {
  for (let i: u32 = 0; i < count; i++) if (load<u32>(entryAddr(i)) == line) return true;
  return false;
}

export function undoBegin(): void {
  add32(WRITE_SEQUENCE_ADDRESS, 1); // odd until the commit or abort: read-only transactions wait or retry
  const id = ctl<u64>(CTL_COMMIT_ID) + 1;
  setCtl<u64>(CTL_COMMIT_ID, id);
  setCtl<u64>(CTL_TX_ID, id);
  setCtl<u32>(CTL_UNDO_CURSOR, 0);
  setState(id, STATE_ACTIVE); // durable with the first entry fence
}

/** Logs the old contents of every line of [offset, offset + length) not yet logged, fences, then stores in place. */
export function undoWrite(offset: u32, src: usize, length: u32): i32 {
  const count = ctl<u32>(CTL_UNDO_CURSOR);
  const first = offset & ~(LINE - 1);
  const last = (offset + length - 1) & ~(LINE - 1);
  let fresh: u32 = 0;
  for (let line = first; line <= last; line += LINE) if (!isLogged(line, count)) fresh++;
  if (count + fresh > capacity()) return TX_ERR_TOO_LARGE;
  if (fresh > 0) {
    const txId = ctl<u64>(CTL_TX_ID);
    let index = count;
    for (let line = first; line <= last; line += LINE) {
      if (isLogged(line, index)) continue;
      const entry = entryAddr(index);
      store<u32>(entry, line);
      store<u32>(entry, index, 4);
      memory.copy(entry + 16, poolAddr(line), LINE);
      store<u64>(entry, entryChecksum(entry, txId), 8);
      index++;
    }
    const from = logOffset() + ENTRIES + <usize>count * ENTRY_SIZE;
    pm_mark_dirty(from, fresh * ENTRY_SIZE);
    pm_flush(from, fresh * ENTRY_SIZE);
    pm_fence();
    setCtl<u32>(CTL_UNDO_CURSOR, index);
  }
  memory.copy(poolAddr(offset), src, length);
  pm_mark_dirty(offset, length);
  return TX_OK;
}

/**
 * Commits: the written lines become durable, then the log is marked done.
 * Returns the transaction ID. The first fence also made every earlier redo
 * transaction's in-place writes durable, so the pool header may record this ID
 * as applied, under the same second fence: recovery must never replay an older
 * journal over this transaction's writes.
 */
export function undoCommit(): u64 {
  const count = ctl<u32>(CTL_UNDO_CURSOR);
  const txId = ctl<u64>(CTL_TX_ID);
  for (let i: u32 = 0; i < count; i++) pm_flush(load<u32>(entryAddr(i)), LINE);
  pm_fence();
  setState(txId, STATE_DONE);
  storeStateWord(STATE_LAST_COMMIT_ID, txId);
  pm_fence();
  store64(APPLIED_ADDRESS, txId);
  setCtl<u64>(CTL_DURABLE, txId);
  add32(WRITE_SEQUENCE_ADDRESS, 1);
  return txId;
}

function rollBack(count: u32): void {
  for (let i = count; i > 0; i--) {
    const entry = entryAddr(i - 1);
    const line = load<u32>(entry);
    memory.copy(poolAddr(line), entry + 16, LINE);
    pm_mark_dirty(line, LINE);
    pm_flush(line, LINE);
  }
  pm_fence();
}

export function undoAbort(): void {
  rollBack(ctl<u32>(CTL_UNDO_CURSOR));
  setState(ctl<u64>(CTL_TX_ID), STATE_DONE);
  pm_fence();
  add32(WRITE_SEQUENCE_ADDRESS, 1);
}

/**
 * The ID of the last undo transaction if the log says it committed, else 0.
 * Its DONE mark and the pool header's applied ID are stored under the same
 * fence but on different lines, so either can reach the media first: recovery
 * takes whichever is there.
 */
export function undoCommittedId(): u64 {
  const word = load64(poolAddr(logOffset()));
  return (word & 3) == STATE_DONE ? word >> 2 : 0;
}

/** Rolls back a transaction whose log is still active; returns the highest transaction ID the log shows. */
export function undoRecover(): u64 {
  const word = load64(poolAddr(logOffset()));
  const txId = word >> 2;
  if ((word & 3) == STATE_ACTIVE) {
    let count: u32 = 0;
    while (count < capacity()) {
      const entry = entryAddr(count);
      if (load<u32>(entry, 4) != count || load<u64>(entry, 8) != entryChecksum(entry, txId)) break;
      count++;
    }
    rollBack(count);
    setState(txId, STATE_DONE);
    pm_fence();
  }
  return txId;
}

/**
 * Writes the last committed undo transaction as a redo record (its lines'
 * after-images) at linear address `dst`, for the file commit log. Returns the
 * record length.
 */
export function undo_last_record(dst: usize): u32 {
  const count = ctl<u32>(CTL_UNDO_CURSOR);
  let payload: u32 = 0;
  for (let i: u32 = 0; i < count; i++) {
    const line = load<u32>(entryAddr(i));
    payload += writeEntry(dst + JOURNAL_HEADER + payload, line, poolAddr(line), LINE);
  }
  sealRecord(dst, ctl<u64>(CTL_TX_ID), 0, payload);
  return JOURNAL_HEADER + payload;
}
