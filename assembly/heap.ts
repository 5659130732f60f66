// The persistent allocator: 64 KiB chunks, each either free, split into slots
// of one size class (16 B to 32 KiB) with a slot bitmap, or part of a run of
// whole chunks for a large block. All metadata changes go through the open
// transaction, so an allocation is exactly as durable as the transaction.
import {
  CHUNK_BITMAP_BYTES, CHUNK_SHIFT, CHUNK_SIZE, CTL_CHUNKS, CTL_DATA_OFFSET, CTL_META_OFFSET, META_DESCRIPTORS,
  SCRATCH_BASE, CTL_HEAP_HINTS, TX_ERR_BAD_POINTER, TX_ERR_DOUBLE_FREE, TX_ERR_NO_SPACE, TX_ERR_STATE, TX_NONE, TX_OK, ctl,
  poolAddr, setCtl,
} from "./layout";
import { txLoad64, txMode, txStore64 } from "./tx";
import { concurrentOpen } from "./concurrent";

const FREE: u64 = 0;
const LARGE: u64 = 0xfe; // first chunk of a run; the run length is in the upper 32 bits
const CONTINUED: u64 = 0xff; // later chunks of a run
const MAX_CLASS: u32 = 12; // class c holds slots of 16 << (c - 1) bytes: 16 B .. 32 KiB

@inline function chunkCount(): u32 {
  return <u32>ctl<u64>(CTL_CHUNKS);
}
@inline function descriptor(chunk: u32): u32 {
  return <u32>ctl<u64>(CTL_META_OFFSET) + META_DESCRIPTORS + chunk * 8;
}
@inline function bitmap(chunk: u32): u32 {
  const descriptors = (chunkCount() * 8 + 63) & ~63;
  return <u32>ctl<u64>(CTL_META_OFFSET) + META_DESCRIPTORS + descriptors + chunk * CHUNK_BITMAP_BYTES;
}
@inline function chunkStart(chunk: u32): u64 {
  return ctl<u64>(CTL_DATA_OFFSET) + (<u64>chunk << CHUNK_SHIFT);
}
@inline function slotSize(sizeClass: u32): u32 {
  return 16 << (sizeClass - 1);
}
@inline function slotsIn(sizeClass: u32): u32 {
  return CHUNK_SIZE / slotSize(sizeClass);
}

function classFor(size: u64): u32 {
  if (size <= 16) return 1;
  return 64 - <u32>clz<u64>(size - 1) - 3;
}

/** Whether a block heap_alloc gave for `allocated` bytes is the size heap_alloc would give for `size` (both small). */
export function heapSameSlot(allocated: u32, size: u32): bool {
  return allocated <= slotSize(MAX_CLASS) && size <= slotSize(MAX_CLASS) && classFor(allocated) == classFor(size);
}

function allocLarge(size: u64): i64 {
  const need = <u32>((size + CHUNK_SIZE - 1) >> CHUNK_SHIFT);
  const count = chunkCount();
  let run: u32 = 0;
  for (let chunk: u32 = 0; chunk < count; chunk++) {
    run = txLoad64(descriptor(chunk)) == FREE ? run + 1 : 0;
    if (run < need) continue;
    const first = chunk + 1 - need;
    let status = txStore64(descriptor(first), LARGE | (<u64>need << 32));
    for (let i = first + 1; status == TX_OK && i <= chunk; i++) status = txStore64(descriptor(i), CONTINUED);
    return status == TX_OK ? <i64>chunkStart(first) : <i64>status;
  }
  return TX_ERR_NO_SPACE;
}

function takeSlot(chunk: u32, sizeClass: u32): i64 {
  const slots = slotsIn(sizeClass);
  const words = (slots + 63) >> 6;
  const hint = ctl<u32>(CTL_HEAP_HINTS + sizeClass * 8 + 4);
  const start = ctl<u32>(CTL_HEAP_HINTS + sizeClass * 8) == chunk && (hint & ~NO_PARTIAL) < words ? hint & ~NO_PARTIAL : 0;
  for (let i: u32 = 0; i < words; i++) {
    const word = start + i < words ? start + i : start + i - words;
    const at = bitmap(chunk) + word * 8;
    const bits = txLoad64(at);
    const valid = slots - word * 64 >= 64 ? <u64>-1 : ((<u64>1 << (slots - word * 64)) - 1);
    const free = ~bits & valid;
    if (free == 0) continue;
    const bit = <u32>ctz<u64>(free);
    const status = txStore64(at, bits | (<u64>1 << bit));
    if (status != TX_OK) return status;
    setHint(sizeClass, chunk, word | (hint & NO_PARTIAL));
    return <i64>(chunkStart(chunk) + <u64>(word * 64 + bit) * slotSize(sizeClass));
  }
  return -1;
}

// Where the last allocation or free of each size class happened (volatile): the
// next allocation looks there first instead of scanning the heap from its start.
// NO_PARTIAL in the word says that the last scan of the heap found no chunk of
// the class with a free slot besides the hint's, and nothing of the class was
// freed since: the next allocation that fills the hint's chunk takes a free
// chunk at once, instead of searching every full chunk's bitmap (which took
// milliseconds on a large heap, every few thousand allocations).
const NO_PARTIAL: u32 = 0x80000000;
// A concurrent transaction (which may yet abort, and runs beside others) never
// claims NO_PARTIAL: a wrong claim would make the class take free chunks while
// partly used ones have room.
@inline function setHint(sizeClass: u32, chunk: u32, word: u32): void {
  setCtl<u32>(CTL_HEAP_HINTS + sizeClass * 8, chunk);
  setCtl<u32>(CTL_HEAP_HINTS + sizeClass * 8 + 4, concurrentOpen() ? word & ~NO_PARTIAL : word);
}

/** Allocates `size` bytes inside the open transaction; returns the pool offset, or a negative status. */
export function heap_alloc(size: u32): i64 {
  if (txMode() == TX_NONE) return TX_ERR_STATE;
  if (size == 0) return TX_ERR_BAD_POINTER;
  if (size > slotSize(MAX_CLASS)) return allocLarge(size);
  const sizeClass = classFor(size);
  const count = chunkCount();
  let freeChunk: u32 = <u32>-1;
  const first = min(ctl<u32>(CTL_HEAP_HINTS + sizeClass * 8), count - 1);
  const hintWord = CTL_HEAP_HINTS + sizeClass * 8 + 4;
  if ((ctl<u32>(hintWord) & NO_PARTIAL) != 0) {
    if (txLoad64(descriptor(first)) == <u64>sizeClass) {
      const taken = takeSlot(first, sizeClass);
      if (taken != -1) return taken;
    }
    for (let i: u32 = 0; i < count; i++) {
      const chunk = first + i < count ? first + i : first + i - count;
      if (txLoad64(descriptor(chunk)) == FREE) return takeFreeChunk(chunk, sizeClass);
    }
    // No free chunk: the full scan below looks once more (an aborted transaction may have left free slots),
    // and a chunk it finds them in may not be the only one.
    setCtl<u32>(hintWord, ctl<u32>(hintWord) & ~NO_PARTIAL);
  }
  for (let i: u32 = 0; i < count; i++) {
    const chunk = first + i < count ? first + i : first + i - count;
    const d = txLoad64(descriptor(chunk));
    if (d == FREE) {
      if (freeChunk == <u32>-1) freeChunk = chunk;
    } else if (d == <u64>sizeClass) {
      const taken = takeSlot(chunk, sizeClass);
      if (taken != -1) return taken;
    }
  }
  if (freeChunk == <u32>-1) return TX_ERR_NO_SPACE;
  return takeFreeChunk(freeChunk, sizeClass); // the scan met no chunk of the class with a free slot
}

/** Gives free chunk `chunk` to `sizeClass` and takes its first slot, when no other chunk of the class has a free slot. */
function takeFreeChunk(chunk: u32, sizeClass: u32): i64 {
  const status = txStore64(descriptor(chunk), <u64>sizeClass);
  if (status != TX_OK) return status;
  setHint(sizeClass, chunk, NO_PARTIAL);
  return takeSlot(chunk, sizeClass);
}

/** Frees the block at `offset` inside the open transaction. */
export function heap_free(offset: u32): i32 {
  if (txMode() == TX_NONE) return TX_ERR_STATE;
  const base = ctl<u64>(CTL_DATA_OFFSET);
  if (<u64>offset < base || <u64>offset - base >= (<u64>chunkCount() << CHUNK_SHIFT)) return TX_ERR_BAD_POINTER;
  const chunk = <u32>((<u64>offset - base) >> CHUNK_SHIFT);
  const within = <u32>(<u64>offset - chunkStart(chunk));
  const d = txLoad64(descriptor(chunk));
  const kind = d & 0xff;
  if (kind == FREE) return within == 0 ? TX_ERR_DOUBLE_FREE : TX_ERR_BAD_POINTER;
  if (kind == CONTINUED) return TX_ERR_BAD_POINTER;
  if (kind == LARGE) {
    if (within != 0) return TX_ERR_BAD_POINTER;
    const run = <u32>(d >> 32);
    for (let i: u32 = 0; i < run; i++) {
      const status = txStore64(descriptor(chunk + i), FREE);
      if (status != TX_OK) return status;
    }
    return TX_OK;
  }
  const sizeClass = <u32>kind;
  if (within % slotSize(sizeClass) != 0) return TX_ERR_BAD_POINTER;
  const slot = within / slotSize(sizeClass);
  const at = bitmap(chunk) + (slot >> 6) * 8;
  const bits = txLoad64(at);
  const mask = <u64>1 << (slot & 63);
  if ((bits & mask) == 0) return TX_ERR_DOUBLE_FREE;
  let status = txStore64(at, bits & ~mask);
  if (status != TX_OK) return status;
  setHint(sizeClass, chunk, slot >> 6);
  // Is the chunk empty now? The freed word first, then from the last word down:
  // blocks freed in allocation order empty a chunk from its first word up.
  if ((bits & ~mask) != 0) return TX_OK;
  for (let word = (slotsIn(sizeClass) + 63) >> 6; word-- > 0; ) {
    if (txLoad64(bitmap(chunk) + word * 8) != 0) return TX_OK;
  }
  return txStore64(descriptor(chunk), FREE);
}

/**
 * Heap statistics into the scratch area as u64s: chunks, free chunks, bytes in
 * use, bytes free, largest free run in bytes, allocated blocks. Reads the
 * committed state (no transaction open).
 */
export function heap_stats(): void {
  const count = chunkCount();
  let freeChunks: u64 = 0, used: u64 = 0, free: u64 = 0, run: u64 = 0, largest: u64 = 0, blocks: u64 = 0;
  for (let chunk: u32 = 0; chunk < count; chunk++) {
    const d = load<u64>(poolAddr(descriptor(chunk)));
    const kind = d & 0xff;
    if (kind == FREE) {
      freeChunks++;
      free += CHUNK_SIZE;
      run += CHUNK_SIZE;
      largest = max(largest, run);
      continue;
    }
    run = 0;
    if (kind == LARGE) {
      used += (d >> 32) << CHUNK_SHIFT;
      blocks++;
    } else if (kind != CONTINUED) {
      const size = <u64>slotSize(<u32>kind);
      let taken: u64 = 0;
      for (let word: u32 = 0; word * 64 < slotsIn(<u32>kind); word++) taken += popcnt<u64>(load<u64>(poolAddr(bitmap(chunk) + word * 8)));
      used += taken * size;
      free += CHUNK_SIZE - taken * size;
      blocks += taken;
    }
  }
  store<u64>(SCRATCH_BASE, count);
  store<u64>(SCRATCH_BASE, freeChunks, 8);
  store<u64>(SCRATCH_BASE, used, 16);
  store<u64>(SCRATCH_BASE, free, 24);
  store<u64>(SCRATCH_BASE, largest, 32);
  store<u64>(SCRATCH_BASE, blocks, 40);
}

/**
 * Checks the allocator's invariants; returns 0, or 1 + the first bad chunk:
 * descriptors of known kinds, runs complete, no slot bits beyond a class's
 * slots, no empty class chunk, no bits in free or run chunks.
 */
export function heap_check(): i64 {
  const count = chunkCount();
  let runLeft: u32 = 0;
  for (let chunk: u32 = 0; chunk < count; chunk++) {
    const d = load<u64>(poolAddr(descriptor(chunk)));
    const kind = d & 0xff;
    let bits: u64 = 0;
    let beyond: u64 = 0;
    const slots = kind >= 1 && kind <= <u64>MAX_CLASS ? slotsIn(<u32>kind) : 0;
    for (let word: u32 = 0; word < CHUNK_BITMAP_BYTES / 8; word++) {
      const w = load<u64>(poolAddr(bitmap(chunk) + word * 8));
      bits |= w;
      if (word * 64 >= slots) beyond |= w;
      else if (slots - word * 64 < 64) beyond |= w >> (slots - word * 64);
    }
    let ok: bool;
    if (kind == CONTINUED) {
      ok = runLeft > 0 && bits == 0 && (d >> 8) == 0;
      runLeft--;
    } else {
      if (runLeft > 0) return 1 + <i64>chunk;
      if (kind == FREE) ok = d == 0 && bits == 0;
      else if (kind == LARGE) {
        runLeft = <u32>(d >> 32) - 1;
        ok = (d >> 32) >= 1 && <u64>chunk + (d >> 32) <= <u64>count && bits == 0 && ((d >> 8) & 0xffffff) == 0;
      } else ok = kind <= <u64>MAX_CLASS && (d >> 8) == 0 && bits != 0 && beyond == 0;
    }
    if (!ok) return 1 + <i64>chunk;
  }
  return runLeft == 0 ? 0 : <i64>count;
}
