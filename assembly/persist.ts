// Persistence primitives: dirty-page marking, cache-line flush into the flush
// ring, fence and flush-hint write. The host is called at a fence that has
// flushed lines to move (adr only) or when the ring fills, never once per line.
import {
  CONTROL_BASE, CTL_BITMAP_OFFSET, CTL_DEVICE, CTL_FENCES, CTL_FLUSH_HINTS, CTL_LINES_FLUSHED,
  CTL_DATA_OFFSET, CTL_FENCE_HOOK, CTL_RING_OFFSET, DEVICE_ADR, FLUSH_RING_CAPACITY, LINE_SHIFT, PAGE_SHIFT, RING_COUNT, RING_ENTRIES,
  STATE_CLEAN_SHUTDOWN, STATE_LAST_COMMIT_ID, ctl, poolAddr,
} from "./layout";
import { add64, or32, store64 } from "./atomics";

/** Host: move the lines listed in the flush ring into the write pending queues and empty the ring. */
@external("env", "pm_drain_ring")
declare function hostDrainRing(): void;

/** Host: flush-hint write, drains the write pending queues into the media. */
@external("env", "pm_flush_hint")
declare function hostFlushHint(): void;

@inline function isAdr(): bool {
  return ctl<u64>(CTL_DEVICE) == DEVICE_ADR;
}

/** Marks the pages overlapping [offset, offset + length) dirty since the last save. */
export function pm_mark_dirty(offset: usize, length: usize): void {
  if (length == 0) return;
  const bitmap = poolAddr(<usize>ctl<u64>(CTL_BITMAP_OFFSET));
  const first = <u32>(offset >> PAGE_SHIFT);
  const last = <u32>((offset + length - 1) >> PAGE_SHIFT);
  for (let page = first; page <= last; page++) {
    const word = bitmap + ((<usize>page >> 5) << 2);
    const bit: u32 = 1 << (page & 31);
    // Most pages are dirty already: a plain load spares the atomic read-modify-write.
    if ((load<u32>(word) & bit) == 0) or32(word, bit);
  }
}

/** Cache-line write-back of every line overlapping [offset, offset + length). */
export function pm_flush(offset: usize, length: usize): void {
  if (length == 0) return;
  const first = <u32>(offset >> LINE_SHIFT);
  const last = <u32>((offset + length - 1) >> LINE_SHIFT);
  // A statistic, counted without an atomic read-modify-write (concurrent flushes may undercount it).
  store<u64>(CONTROL_BASE + CTL_LINES_FLUSHED, load<u64>(CONTROL_BASE + CTL_LINES_FLUSHED) + <u64>(last - first + 1));
  if (!isAdr()) return; // eADR and NVDIMM-N: caches are inside the persistence domain
  const ring = poolAddr(<usize>ctl<u64>(CTL_RING_OFFSET));
  const lines = last - first + 1;
  let slot = load<u32>(ring + RING_COUNT);
  if (slot != 0) {
    // A range that continues the last run extends it (a journal and a written block flush in pieces).
    const previous = ring + RING_ENTRIES + (<usize>(slot - 1) << 3);
    const previousCount = load<u32>(previous, 4);
    if (load<u32>(previous) + previousCount == first) {
      store<u32>(previous, previousCount + lines, 4);
      return;
    }
  }
  if (slot >= FLUSH_RING_CAPACITY) {
    hostDrainRing();
    slot = 0;
  }
  const run = ring + RING_ENTRIES + (<usize>slot << 3);
  store<u32>(run, first);
  store<u32>(run, lines, 4);
  store<u32>(ring + RING_COUNT, slot + 1);
}

/** Ordering point: every line flushed before it reaches the persistence domain. */
export function pm_fence(): void {
  add64(CONTROL_BASE + CTL_FENCES, 1);
  if (!isAdr()) {
    if (ctl<u32>(CTL_FENCE_HOOK) != 0) hostDrainRing();
    return;
  }
  const ring = poolAddr(<usize>ctl<u64>(CTL_RING_OFFSET));
  if (load<u32>(ring + RING_COUNT) != 0 || ctl<u32>(CTL_FENCE_HOOK) != 0) hostDrainRing();
}

/** Makes every fence call the host, so a crash-state explorer can stop there. */
export function pm_set_fence_hook(on: u32): void {
  store<u32>(CONTROL_BASE + CTL_FENCE_HOOK, on);
}

/** Flush-hint write: drains the memory controllers' write pending queues into the media. */
export function pm_flush_hint(): void {
  add64(CONTROL_BASE + CTL_FLUSH_HINTS, 1);
  if (isAdr()) hostFlushHint();
}

/** Stores, marks, flushes and fences [offset, offset + length) after the host copied bytes in. */
export function pm_persist(offset: usize, length: usize): void {
  pm_mark_dirty(offset, length);
  pm_flush(offset, length);
  pm_fence();
}

/** Stores a header state word and flushes it; the caller's next fence makes it durable. */
export function storeStateWord(field: u32, value: u64): void {
  store64(poolAddr(field), value);
  pm_mark_dirty(field, 8);
  pm_flush(field, 8);
}

export function pool_set_clean_shutdown(clean: u64): void {
  storeStateWord(STATE_CLEAN_SHUTDOWN, clean);
  pm_fence();
}

export function pool_set_last_commit_id(id: u64): void {
  storeStateWord(STATE_LAST_COMMIT_ID, id);
  pm_fence();
}

export function ctl_lines_flushed(): u64 {
  return ctl<u64>(CTL_LINES_FLUSHED);
}
export function ctl_fences(): u64 {
  return ctl<u64>(CTL_FENCES);
}
export function ctl_flush_hints(): u64 {
  return ctl<u64>(CTL_FLUSH_HINTS);
}

/** Returns how many runs of lines the flush ring holds; the host reads them (u32 first line, u32 count) at pool offset ring + 64. */
export function ring_count(): u32 {
  return load<u32>(poolAddr(<usize>ctl<u64>(CTL_RING_OFFSET)) + RING_COUNT);
}
export function ring_clear(): void {
  store<u32>(poolAddr(<usize>ctl<u64>(CTL_RING_OFFSET)) + RING_COUNT, 0);
}

export function pool_ring_offset(): u64 {
  return ctl<u64>(CTL_RING_OFFSET);
}
export function pool_bitmap_offset(): u64 {
  return ctl<u64>(CTL_BITMAP_OFFSET);
}
export function pool_data_offset(): u64 {
  return ctl<u64>(CTL_DATA_OFFSET);
}

/** Copies `length` bytes between linear addresses (the host's device model moves cache lines with it). */
export function mem_copy(dst: usize, src: usize, length: usize): void {
  memory.copy(dst, src, length);
}
