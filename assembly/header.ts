// Pool header and region table: formatting, validation and recovery of the
// volatile regions.
import {
  CTL_BITMAP_OFFSET, CTL_DATA_OFFSET, CTL_DEVICE, CTL_POOL_SIZE, CTL_RING_OFFSET,
  FLUSH_RING_CAPACITY, FORMAT_VERSION, HDR_CHECKSUM, HDR_DEVICE, HDR_HEADER_SIZE, HDR_MAGIC,
  HDR_PAGE_SIZE, HDR_POOL_SIZE, HDR_REGIONS, HDR_REGION_COUNT, HDR_UUID, HDR_VERSION,
  HEADER_BAD_CHECKSUM, HEADER_BAD_GEOMETRY, HEADER_BAD_MAGIC, HEADER_NEWER_VERSION, HEADER_OK,
  PAGE_SHIFT, PAGE_SIZE, POOL_MAGIC, REGION_DATA, REGION_DIRTY_BITMAP, REGION_ENTRY_SIZE,
  REGION_FLAG_VOLATILE, REGION_FLUSH_RING, REGION_HEADER, RING_ENTRIES, RING_RUN_BYTES, SCRATCH_BASE,
  STATE_CLEAN_SHUTDOWN, STATE_LAST_COMMIT_ID, MAX_REGIONS, poolAddr, setCtl,
  CHUNK_BITMAP_BYTES, CHUNK_SHIFT, CHUNK_SIZE, CTL_CHUNKS, CTL_JOURNALS_OFFSET, CTL_JOURNAL_SIZE,
  CTL_META_OFFSET, CTL_UNDO_OFFSET, CTL_UNDO_SIZE, JOURNAL_COUNT, META_DESCRIPTORS, REGION_HEAP_META,
  REGION_JOURNALS, REGION_UNDO_LOG, SMALL_POOL, CONCURRENT_AREA_BYTES,
} from "./layout";
import { CONCURRENT_RECORD } from "./concurrent";
import { xxh64 } from "./xxhash64";
import { load64 } from "./atomics";

const HEADER_SEED: u64 = 0x5750_4d45_4d48_4452; // "WPMEMHDR"

@inline function alignUp(value: u64, alignment: u64): u64 {
  return (value + alignment - 1) & ~(alignment - 1);
}

function setRegion(index: u32, kind: u32, flags: u32, offset: u64, length: u64): void {
  const entry = poolAddr(HDR_REGIONS + index * REGION_ENTRY_SIZE);
  store<u32>(entry, kind);
  store<u32>(entry, flags, 4);
  store<u64>(entry, offset, 8);
  store<u64>(entry, length, 16);
  store<u64>(entry, 0, 24);
}

export function region_kind(index: u32): u32 {
  return load<u32>(poolAddr(HDR_REGIONS + index * REGION_ENTRY_SIZE));
}
export function region_flags(index: u32): u32 {
  return load<u32>(poolAddr(HDR_REGIONS + index * REGION_ENTRY_SIZE), 4);
}
export function region_offset(index: u32): u64 {
  return load<u64>(poolAddr(HDR_REGIONS + index * REGION_ENTRY_SIZE), 8);
}
export function region_length(index: u32): u64 {
  return load<u64>(poolAddr(HDR_REGIONS + index * REGION_ENTRY_SIZE), 16);
}

function headerChecksum(): u64 {
  return xxh64(poolAddr(0), HDR_CHECKSUM, HEADER_SEED);
}

/**
 * Writes header and region table for an all-zero pool of `poolSize` bytes. The
 * pool UUID is read from the first 16 bytes of the scratch area. Returns the
 * offset of the data region.
 */
export function pool_format(poolSize: u64, device: u32): u64 {
  const pages = poolSize >> PAGE_SHIFT;
  const ringOffset: u64 = PAGE_SIZE;
  const ringLength = alignUp(RING_ENTRIES + <u64>FLUSH_RING_CAPACITY * RING_RUN_BYTES, PAGE_SIZE);
  const bitmapOffset = ringOffset + ringLength;
  const bitmapLength = alignUp((pages + 7) >> 3, PAGE_SIZE);
  const journalSize: u64 = poolSize < SMALL_POOL ? 16 << 10 : 64 << 10;
  const journalsOffset = bitmapOffset + bitmapLength;
  const journalsLength = journalSize * JOURNAL_COUNT;
  const undoOffset = journalsOffset + journalsLength;
  const undoLength = journalSize;
  const metaOffset = undoOffset + undoLength;
  // Each heap chunk costs its data plus a descriptor and a slot bitmap; keep two pages of slack for alignment.
  const perChunk: u64 = CHUNK_SIZE + 8 + CHUNK_BITMAP_BYTES;
  const available = poolSize - metaOffset;
  const chunks = available > META_DESCRIPTORS + 2 * PAGE_SIZE ? (available - META_DESCRIPTORS - 2 * PAGE_SIZE) / perChunk : 0;
  const metaLength = alignUp(META_DESCRIPTORS + alignUp(chunks * 8, 64) + chunks * CHUNK_BITMAP_BYTES, PAGE_SIZE);
  const dataOffset = metaOffset + metaLength;

  store<u64>(poolAddr(HDR_MAGIC), POOL_MAGIC);
  store<u32>(poolAddr(HDR_VERSION), FORMAT_VERSION);
  store<u32>(poolAddr(HDR_HEADER_SIZE), PAGE_SIZE);
  store<u64>(poolAddr(HDR_POOL_SIZE), poolSize);
  memory.copy(poolAddr(HDR_UUID), SCRATCH_BASE, 16);
  store<u32>(poolAddr(HDR_DEVICE), device);
  store<u32>(poolAddr(HDR_PAGE_SIZE), PAGE_SIZE);
  store<u32>(poolAddr(HDR_REGION_COUNT), 7);
  setRegion(0, REGION_HEADER, 0, 0, PAGE_SIZE);
  setRegion(1, REGION_FLUSH_RING, REGION_FLAG_VOLATILE, ringOffset, ringLength);
  setRegion(2, REGION_DIRTY_BITMAP, REGION_FLAG_VOLATILE, bitmapOffset, bitmapLength);
  setRegion(3, REGION_JOURNALS, 0, journalsOffset, journalsLength);
  setRegion(4, REGION_UNDO_LOG, 0, undoOffset, undoLength);
  setRegion(5, REGION_HEAP_META, 0, metaOffset, metaLength);
  setRegion(6, REGION_DATA, 0, dataOffset, poolSize - dataOffset);
  store<u64>(poolAddr(HDR_CHECKSUM), headerChecksum());
  store<u64>(poolAddr(STATE_CLEAN_SHUTDOWN), 1);
  store<u64>(poolAddr(STATE_LAST_COMMIT_ID), 0);
  return dataOffset;
}

/** Validates the header of the pool image in memory against the expected size. */
export function pool_check_header(expectedSize: u64): i32 {
  if (load<u64>(poolAddr(HDR_MAGIC)) != POOL_MAGIC) return HEADER_BAD_MAGIC;
  if (load<u64>(poolAddr(HDR_CHECKSUM)) != headerChecksum()) return HEADER_BAD_CHECKSUM;
  if (load<u32>(poolAddr(HDR_VERSION)) > FORMAT_VERSION) return HEADER_NEWER_VERSION;
  if (load<u64>(poolAddr(HDR_POOL_SIZE)) != expectedSize) return HEADER_BAD_GEOMETRY;
  if (load<u32>(poolAddr(HDR_PAGE_SIZE)) != PAGE_SIZE) return HEADER_BAD_GEOMETRY;
  const count = load<u32>(poolAddr(HDR_REGION_COUNT));
  if (count < 7 || count > MAX_REGIONS) return HEADER_BAD_GEOMETRY;
  let end: u64 = 0;
  for (let i: u32 = 0; i < count; i++) {
    const offset = region_offset(i);
    const length = region_length(i);
    if (offset != end || (offset & (PAGE_SIZE - 1)) != 0 || length > expectedSize - offset) {
      return HEADER_BAD_GEOMETRY;
    }
    end = offset + length;
  }
  if (end != expectedSize) return HEADER_BAD_GEOMETRY;
  // A journal must fit a thread's concurrent-transaction record, which is staged before it moves into one.
  const journals = findRegion(REGION_JOURNALS);
  if (journals == <u32>-1 || region_length(journals) / JOURNAL_COUNT > CONCURRENT_AREA_BYTES - CONCURRENT_RECORD) {
    return HEADER_BAD_GEOMETRY;
  }
  return HEADER_OK;
}

function findRegion(kind: u32): u32 {
  const count = load<u32>(poolAddr(HDR_REGION_COUNT));
  for (let i: u32 = 0; i < count; i++) if (region_kind(i) == kind) return i;
  return <u32>-1;
}

/**
 * Attaches the control block to a validated pool image: records its geometry
 * and device for the fast paths. Idempotent; every thread's instance may call it.
 */
export function pool_attach(): void {
  setCtl<u64>(CTL_POOL_SIZE, load<u64>(poolAddr(HDR_POOL_SIZE)));
  setCtl<u64>(CTL_DEVICE, <u64>load<u32>(poolAddr(HDR_DEVICE)));
  setCtl<u64>(CTL_RING_OFFSET, region_offset(findRegion(REGION_FLUSH_RING)));
  setCtl<u64>(CTL_BITMAP_OFFSET, region_offset(findRegion(REGION_DIRTY_BITMAP)));
  setCtl<u64>(CTL_DATA_OFFSET, region_offset(findRegion(REGION_DATA)));
  const journals = findRegion(REGION_JOURNALS);
  setCtl<u64>(CTL_JOURNALS_OFFSET, region_offset(journals));
  setCtl<u64>(CTL_JOURNAL_SIZE, region_length(journals) / JOURNAL_COUNT);
  const undo = findRegion(REGION_UNDO_LOG);
  setCtl<u64>(CTL_UNDO_OFFSET, region_offset(undo));
  setCtl<u64>(CTL_UNDO_SIZE, region_length(undo));
  const meta = findRegion(REGION_HEAP_META);
  setCtl<u64>(CTL_META_OFFSET, region_offset(meta));
  const metaLength = region_length(meta);
  // chunks = largest n with META_DESCRIPTORS + align64(8n) + 512n <= metaLength, capped by the data region.
  let chunks = (metaLength - META_DESCRIPTORS) / (8 + CHUNK_BITMAP_BYTES);
  while (chunks > 0 && META_DESCRIPTORS + alignUp(chunks * 8, 64) + chunks * CHUNK_BITMAP_BYTES > metaLength) chunks--;
  const dataChunks = region_length(findRegion(REGION_DATA)) >> CHUNK_SHIFT;
  setCtl<u64>(CTL_CHUNKS, chunks < dataChunks ? chunks : dataChunks);
}

/** Recovery of the pool-level structures: volatile regions start empty. */
export function pool_reset_volatile(): void {
  const count = load<u32>(poolAddr(HDR_REGION_COUNT));
  for (let i: u32 = 0; i < count; i++) {
    if (region_flags(i) & REGION_FLAG_VOLATILE) {
      memory.fill(poolAddr(<usize>region_offset(i)), 0, <usize>region_length(i));
    }
  }
}

export function pool_device(): u32 {
  return load<u32>(poolAddr(HDR_DEVICE));
}
export function pool_version(): u32 {
  return load<u32>(poolAddr(HDR_VERSION));
}
export function pool_size(): u64 {
  return load<u64>(poolAddr(HDR_POOL_SIZE));
}
export function pool_region_count(): u32 {
  return load<u32>(poolAddr(HDR_REGION_COUNT));
}
/** Copies the 16-byte pool UUID to the start of the scratch area. */
export function pool_uuid_to_scratch(): void {
  memory.copy(SCRATCH_BASE, poolAddr(HDR_UUID), 16);
}
export function pool_clean_shutdown(): u64 {
  return load64(poolAddr(STATE_CLEAN_SHUTDOWN));
}
export function pool_last_commit_id(): u64 {
  return load64(poolAddr(STATE_LAST_COMMIT_ID));
}
