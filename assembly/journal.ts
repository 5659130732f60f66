// Redo transactions on micro-journals with commit coalescing (patents.md §4).
//
// A transaction's redo images go into a free journal. Commit assigns the next
// commit ID, seals the journal with a checksum, flushes it and fences ONCE:
// that fence makes the journal durable and also the in-place writes of the
// previous transaction, which were flushed but never fenced. Only then are this
// transaction's writes applied in place (flushed, not fenced).
//
// Each header records `appliedUpTo`: commit IDs whose in-place writes were
// already durable, through a fence that had completed, when the header was
// sealed. It must not count writes that only this header's own fence makes
// durable: on adr a sealed journal can reach the media by an early write-back
// before its fence, while those writes have not. Recovery replays every valid
// journal above the highest watermark, in commit-ID order; a journal returns
// to the free list only once a durable header's watermark covers it.
import {
  APPLIED_ADDRESS, CTL_COMMIT_ID, CTL_DURABLE, CTL_FREE_JOURNALS, CTL_POOL_SIZE, CTL_INFLIGHT_JOURNALS, CTL_ISSUED,
  CTL_JOURNALS_OFFSET, APPLY_SEQUENCE_ADDRESS, CTL_JOURNAL_SIZE, JOURNAL_COUNT, JOURNAL_HEADER, LINE_SHIFT, TX_ERR_STATE,
  TX_ERR_TOO_LARGE, TX_OK, WRITTEN_FILTER_BYTES, ctl, poolAddr, setCtl, writtenFilter,
} from "./layout";
import { copyBytes } from "./bytes";
import { add32, store64 } from "./atomics";
import { concurrentOpen, concurrentRead, stampLines, stampsFence, stampsNeeded } from "./concurrent";
import { pm_fence, pm_flush, pm_mark_dirty } from "./persist";
import { xxh64 } from "./xxhash64";

const JOURNAL_SEED: u64 = 0x4c4e_524a_4d45_4d50;
const J_COMMIT_ID: u32 = 0;
const J_APPLIED: u32 = 8;
const J_PAYLOAD: u32 = 16; // u32 bytes of entries
const J_CHECKSUM: u32 = 24;
const ENTRY_HEADER: u32 = 8; // u32 pool offset, u32 length, then the bytes padded to 8

@inline function journalOffset(index: u32): u64 {
  return ctl<u64>(CTL_JOURNALS_OFFSET) + <u64>index * ctl<u64>(CTL_JOURNAL_SIZE);
}

function checksum(journal: usize, payload: u32): u64 {
  return xxh64(journal + JOURNAL_HEADER, payload, xxh64(journal, J_CHECKSUM, JOURNAL_SEED));
}

function isValid(journal: usize): bool {
  const payload = load<u32>(journal + J_PAYLOAD);
  if (<u64>payload > ctl<u64>(CTL_JOURNAL_SIZE) - JOURNAL_HEADER) return false;
  return load<u64>(journal + J_CHECKSUM) == checksum(journal, payload);
}

/**
 * Writes a record's entries in place. Once concurrent transactions are in use,
 * their lines are stamped with `id` first, all of them, and a fence orders the
 * stamps before the first write (an atomic store alone does not order the plain
 * stores after it on every CPU).
 */
function applyEntries(journal: usize, payload: u32, id: u64): void {
  const end = journal + JOURNAL_HEADER + payload;
  if (stampsNeeded()) {
    for (let entry = journal + JOURNAL_HEADER; entry < end; entry += ENTRY_HEADER + ((load<u32>(entry, 4) + 7) & ~7)) {
      if (load<u32>(entry, 4) != 0) stampLines(load<u32>(entry), load<u32>(entry, 4), id);
    }
    stampsFence();
  }
  let entry = journal + JOURNAL_HEADER;
  while (entry < end) {
    const offset = <usize>load<u32>(entry);
    const length = <usize>load<u32>(entry, 4);
    copyBytes(poolAddr(offset), entry + ENTRY_HEADER, length);
    pm_mark_dirty(offset, length);
    pm_flush(offset, length);
    entry += ENTRY_HEADER + ((length + 7) & ~7);
  }
}

/** Writes a record header (commit ID, watermark, payload length, checksum) in front of `payload` entry bytes. */
export function sealRecord(record: usize, id: u64, applied: u64, payload: u32): void {
  store<u64>(record + J_COMMIT_ID, id);
  store<u64>(record + J_APPLIED, applied);
  store<u32>(record + J_PAYLOAD, payload);
  store<u32>(record + J_PAYLOAD + 4, 0);
  store<u64>(record + J_CHECKSUM, checksum(record, payload));
}

/** Appends one redo entry for [offset, offset + length) at `entry`; returns its size. */
export function writeEntry(entry: usize, offset: u32, src: usize, length: u32): u32 {
  store<u32>(entry, offset);
  store<u32>(entry, length, 4);
  copyBytes(entry + ENTRY_HEADER, src, length);
  return ENTRY_HEADER + ((length + 7) & ~7);
}

// Lines the open transaction wrote, as a bit filter by line number: a read
// whose lines are all clear needs no walk over the journal's entries. The
// filter takes the first half of the thread's WRITTEN_FILTER_BYTES; the second
// half indexes where the transaction's first entries start, so that a read of
// what it wrote finds the newest entry covering it first, without a walk over
// all of them (a cache set reads about two lines it wrote, in a transaction of
// up to 40 entries).
const FILTER_BYTES: u32 = WRITTEN_FILTER_BYTES / 2;
const FILTER_BITS_LOG2: u32 = 12; // FILTER_BYTES * 8 bits
const INDEXED_ENTRIES: u32 = (WRITTEN_FILTER_BYTES - FILTER_BYTES) / 2; // u16 starts, in 8-byte units
@inline function entryStarts(): usize {
  return writtenFilter() + FILTER_BYTES;
}

@inline function filterBit(line: u32): u32 {
  return (line * 0x9e3779b1) >>> (32 - FILTER_BITS_LOG2);
}
function markWritten(offset: u32, length: u32): void {
  const last = (offset + length - 1) >> LINE_SHIFT;
  for (let line = offset >> LINE_SHIFT; line <= last; line++) {
    const bit = filterBit(line);
    store<u8>(writtenFilter() + (bit >> 3), load<u8>(writtenFilter() + (bit >> 3)) | (<u8>1 << <u8>(bit & 7)));
  }
}
export function mayBeWritten(offset: u32, length: u32): bool {
  const last = (offset + length - 1) >> LINE_SHIFT;
  for (let line = offset >> LINE_SHIFT; line <= last; line++) {
    const bit = filterBit(line);
    if ((load<u8>(writtenFilter() + (bit >> 3)) & (1 << (bit & 7))) != 0) return true;
  }
  return false;
}

// The open redo transaction of this thread (core instances are per thread): its
// journal (NO_JOURNAL while a concurrent transaction stages its record in its
// thread's buffer), the linear address of its record, and the entry bytes used.
const NO_JOURNAL: u32 = <u32>-1;
let txJournal: u32 = NO_JOURNAL;
let txRecord: usize = 0;
let txCursor: u32 = 0;
let txEntries: u32 = 0;

function takeJournal(): i32 {
  const free = ctl<u32>(CTL_FREE_JOURNALS);
  if (free == 0) return TX_ERR_STATE;
  txJournal = ctz(free);
  setCtl<u32>(CTL_FREE_JOURNALS, free & ~(1 << txJournal));
  return TX_OK;
}

/** Opens a redo transaction in a free journal (the caller holds the transaction lock), or, given `record`, staged there. */
export function redoBegin(record: usize = 0): i32 {
  if (record == 0) {
    const status = takeJournal();
    if (status != TX_OK) return status;
    record = poolAddr(<usize>journalOffset(txJournal));
  } else {
    txJournal = NO_JOURNAL;
  }
  memory.fill(writtenFilter(), 0, FILTER_BYTES);
  txRecord = record;
  txCursor = 0;
  txEntries = 0;
  return TX_OK;
}

/** Whether a journal is free for the lock's holder to commit into. */
export function journalFree(): bool {
  return ctl<u32>(CTL_FREE_JOURNALS) != 0;
}

/** Whether the open redo transaction has written anything. */
export function redoWrote(): bool {
  return txCursor != 0;
}

/** Bytes left for entries in the open redo transaction's record. */
export function redoRoom(): u32 {
  return <u32>ctl<u64>(CTL_JOURNAL_SIZE) - JOURNAL_HEADER - txCursor;
}

/** Appends the redo image of [offset, offset + length) taken from linear address `src`. */
export function redoAppend(offset: u32, src: usize, length: u32): i32 {
  const size = ENTRY_HEADER + ((length + 7) & ~7);
  if (<u64>(JOURNAL_HEADER + txCursor + size) > ctl<u64>(CTL_JOURNAL_SIZE)) return TX_ERR_TOO_LARGE;
  if (txEntries < INDEXED_ENTRIES) store<u16>(entryStarts() + (txEntries << 1), <u16>(txCursor >> 3));
  txEntries++;
  txCursor += writeEntry(txRecord + JOURNAL_HEADER + txCursor, offset, src, length);
  markWritten(offset, length);
  return TX_OK;
}

/** Reads [offset, offset + length) as the open transaction sees it: the pool overlaid with its redo images. */
export function redoRead(offset: u32, length: u32, dst: usize): void {
  if (concurrentOpen() && length != 0) concurrentRead(offset, length, dst);
  else copyBytes(dst, poolAddr(offset), length);
  if (length == 0 || !mayBeWritten(offset, length)) return;
  if (txEntries <= INDEXED_ENTRIES) {
    // Newest first: an entry that covers the whole read holds what the transaction last wrote there.
    // One that covers only part of it needs the walk below, which overlays every entry in order.
    let i = txEntries;
    for (; i > 0; i--) {
      const entry = txRecord + JOURNAL_HEADER + (<usize>load<u16>(entryStarts() + ((i - 1) << 1)) << 3);
      const at = load<u32>(entry);
      const end = at + load<u32>(entry, 4);
      if (at >= offset + length || end <= offset) continue;
      if (at > offset || end < offset + length) break;
      copyBytes(dst, entry + ENTRY_HEADER + (offset - at), length);
      return;
    }
    if (i == 0) return;
  }
  let entry = txRecord + JOURNAL_HEADER;
  const end = entry + txCursor;
  const readEnd = offset + length;
  while (entry < end) {
    const at = load<u32>(entry);
    const size = load<u32>(entry, 4);
    const from = max(at, offset);
    const to = min(at + size, readEnd);
    if (from < to) copyBytes(dst + (from - offset), entry + ENTRY_HEADER + (from - at), to - from);
    entry += ENTRY_HEADER + ((size + 7) & ~7);
  }
}

/**
 * Commits the open redo transaction with exactly one fence; returns its commit
 * ID. A transaction that wrote nothing has nothing to make durable: it takes no
 * commit ID and no fence, and returns 0.
 */
export function redoCommit(): u64 {
  const payload = txCursor;
  if (payload == 0) {
    redoAbort();
    return 0;
  }
  // A concurrent transaction's record moves into a journal now, under the lock.
  if (txJournal == NO_JOURNAL) {
    if (takeJournal() != TX_OK) unreachable(); // never: tx_validate refused the commit when no journal was free
    copyBytes(poolAddr(<usize>journalOffset(txJournal)) + JOURNAL_HEADER, txRecord + JOURNAL_HEADER, payload);
  }
  const index = txJournal;
  txJournal = NO_JOURNAL;
  const offset = journalOffset(index);
  const journal = poolAddr(<usize>offset);
  // The caller holds the transaction lock: the seeds' lock on the commit ID. IDs are taken in commit order.
  const id = ctl<u64>(CTL_COMMIT_ID) + 1;
  setCtl<u64>(CTL_COMMIT_ID, id);
  const watermark = ctl<u64>(CTL_DURABLE);
  sealRecord(journal, id, watermark, payload);
  pm_mark_dirty(<usize>offset, JOURNAL_HEADER + payload);
  pm_flush(<usize>offset, JOURNAL_HEADER + payload);
  pm_fence();
  // The fence completed: what was issued before it is durable, and this header (now durable) covers `watermark`.
  setCtl<u64>(CTL_DURABLE, ctl<u64>(CTL_ISSUED));
  let inflight = ctl<u32>(CTL_INFLIGHT_JOURNALS);
  for (let rest = inflight; rest != 0; rest &= rest - 1) {
    const other = ctz(rest);
    if (load<u64>(poolAddr(<usize>journalOffset(other)) + J_COMMIT_ID) <= watermark) {
      inflight &= ~(1 << other);
      setCtl<u32>(CTL_FREE_JOURNALS, ctl<u32>(CTL_FREE_JOURNALS) | (1 << other));
    }
  }
  setCtl<u32>(CTL_INFLIGHT_JOURNALS, inflight | (1 << index));
  // Readers on other threads (cache lookups) retry if the sequence was odd or moved under them.
  add32(APPLY_SEQUENCE_ADDRESS, 1);
  applyEntries(journal, payload, id);
  // Published before the sequence turns even: a concurrent transaction that begins after that reads it.
  store64(APPLIED_ADDRESS, id);
  add32(APPLY_SEQUENCE_ADDRESS, 1);
  return id;
}

/** Pool offset of the newest committed journal (its record is JOURNAL_HEADER + payload bytes long). */
export function redo_last_record(): u32 {
  let newest: u32 = 0;
  let newestId: u64 = 0;
  for (let rest = ctl<u32>(CTL_INFLIGHT_JOURNALS); rest != 0; rest &= rest - 1) {
    const offset = <u32>journalOffset(ctz(rest));
    const id = load<u64>(poolAddr(offset) + J_COMMIT_ID);
    if (id > newestId) {
      newest = offset;
      newestId = id;
    }
  }
  return newest;
}

/** Length of the record at pool offset `offset`, as its header says. */
export function redo_record_length(offset: u32): u32 {
  return JOURNAL_HEADER + load<u32>(poolAddr(offset) + J_PAYLOAD);
}

/**
 * Applies a journal record that the host copied to linear address `record`
 * (from a file commit log): if its checksum holds and its commit ID is newer
 * than every applied one, its writes go in place and are persisted. Returns its
 * commit ID, 0 if it was already applied, or -1 if it is not a valid record.
 */
export function redo_apply_record(record: usize, length: u32): i64 {
  if (length < JOURNAL_HEADER || load<u32>(record + J_PAYLOAD) != length - JOURNAL_HEADER) return -1;
  if (load<u64>(record + J_CHECKSUM) != checksum(record, length - JOURNAL_HEADER)) return -1;
  // Every entry must lie inside this pool (a record from another pool's log must change nothing).
  for (let entry = record + JOURNAL_HEADER; entry < record + length; ) {
    const end = <u64>load<u32>(entry) + <u64>load<u32>(entry, 4);
    if (end > ctl<u64>(CTL_POOL_SIZE)) return -1;
    entry += ENTRY_HEADER + ((load<u32>(entry, 4) + 7) & ~7);
  }
  const id = load<u64>(record + J_COMMIT_ID);
  if (id <= ctl<u64>(CTL_ISSUED)) return 0;
  applyEntries(record, length - JOURNAL_HEADER, id);
  pm_fence();
  store64(APPLIED_ADDRESS, id);
  setCtl<u64>(CTL_DURABLE, id);
  setCtl<u64>(CTL_COMMIT_ID, max(id, ctl<u64>(CTL_COMMIT_ID)));
  return <i64>id;
}

export function redoAbort(): void {
  if (txJournal != NO_JOURNAL) setCtl<u32>(CTL_FREE_JOURNALS, ctl<u32>(CTL_FREE_JOURNALS) | (1 << txJournal));
  txJournal = NO_JOURNAL;
}

/**
 * Replays every valid journal newer than all watermarks (and than `appliedFloor`,
 * the pool header's record of applied commits), in commit-ID order. Returns the
 * highest commit ID seen, from which new IDs continue.
 */
export function redoRecover(appliedFloor: u64): u64 {
  let watermark = appliedFloor;
  let newest = appliedFloor;
  for (let i: u32 = 0; i < JOURNAL_COUNT; i++) {
    const journal = poolAddr(<usize>journalOffset(i));
    if (!isValid(journal)) continue;
    watermark = max(watermark, load<u64>(journal + J_APPLIED));
    newest = max(newest, load<u64>(journal + J_COMMIT_ID));
  }
  let replayed = false;
  let last = watermark;
  for (;;) {
    // Next journal in commit-ID order above `last` (there are only a few journals).
    let next: u32 = <u32>-1;
    let nextId: u64 = <u64>-1;
    for (let i: u32 = 0; i < JOURNAL_COUNT; i++) {
      const journal = poolAddr(<usize>journalOffset(i));
      if (!isValid(journal)) continue;
      const id = load<u64>(journal + J_COMMIT_ID);
      if (id > last && id < nextId) {
        next = i;
        nextId = id;
      }
    }
    if (next == <u32>-1) break;
    const journal = poolAddr(<usize>journalOffset(next));
    applyEntries(journal, load<u32>(journal + J_PAYLOAD), nextId);
    replayed = true;
    last = nextId;
  }
  if (replayed) pm_fence();
  setCtl<u32>(CTL_FREE_JOURNALS, (1 << JOURNAL_COUNT) - 1);
  setCtl<u32>(CTL_INFLIGHT_JOURNALS, 0);
  return newest;
}
