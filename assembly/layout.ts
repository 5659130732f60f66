// Linear-memory map and pool layout v1. Every persistent structure is a plain
// record at a pool-relative offset, so an image is byte-for-byte portable.
//
//   [0, 64 KiB)        AssemblyScript statics (re-applied by every instance)
//   [64 KiB, 68 KiB)   control block: volatile counters and state, shared by all threads
//   [68 KiB, 144 KiB)  scratch area for the host (large enough for a whole journal record)
//   [144 KiB, 176 KiB) stripe versions: the commit ID that last wrote each stripe of lines (concurrent.ts)
//   [176 KiB, 256 KiB) the owner's concurrent-transaction area (CONCURRENT_AREA_BYTES, see concurrent.ts)
//   [256 KiB, ...)     the pool: header, flush ring, dirty-page bitmap, journals, undo log, heap

export const CONTROL_BASE: usize = 65536;
export const SCRATCH_BASE: usize = CONTROL_BASE + 4096;
export const VERSIONS_BASE: usize = 147456;
export const SCRATCH_SIZE: usize = VERSIONS_BASE - SCRATCH_BASE;
export const STRIPE_BITS: u32 = 12; // 4096 stripes of u64 versions
export const OWNER_CONCURRENT_AREA: usize = VERSIONS_BASE + (8 << STRIPE_BITS);
// A concurrent transaction's state words and read log (16 KiB), then its redo record (a journal's largest size).
export const CONCURRENT_AREA_BYTES: u32 = (16 + 64) << 10;
export const POOL_BASE: usize = 262144;

export const LINE_SHIFT: u32 = 6; // 64-byte cache lines
export const PAGE_SHIFT: u32 = 12; // 4 KiB pages for dirty tracking and saves
export const PAGE_SIZE: u32 = 1 << PAGE_SHIFT;

export const POOL_MAGIC: u64 = 0x31_4c_4f_4f_50_4d_50_57; // "WPMPOOL1"
export const FORMAT_VERSION: u32 = 1;

// Header page (pool offset 0). Bytes [0, HDR_CHECKSUM) are written once at
// format time and covered by the checksum; the state words after them change at
// run time and are each one 8-byte power-fail-atomic word, so no crash can tear
// the header into an invalid state.
export const HDR_MAGIC: u32 = 0;
export const HDR_VERSION: u32 = 8;
export const HDR_HEADER_SIZE: u32 = 12;
export const HDR_POOL_SIZE: u32 = 16;
export const HDR_UUID: u32 = 24; // 16 bytes
export const HDR_DEVICE: u32 = 40;
export const HDR_PAGE_SIZE: u32 = 44;
export const HDR_REGION_COUNT: u32 = 48;
export const HDR_REGIONS: u32 = 64; // region table
export const REGION_ENTRY_SIZE: u32 = 32; // u32 kind, u32 flags, u64 offset, u64 length, u64 reserved
export const MAX_REGIONS: u32 = 16;
export const HDR_CHECKSUM: u32 = HDR_REGIONS + MAX_REGIONS * REGION_ENTRY_SIZE; // 576
export const HDR_STATE: u32 = 1024; // mutable words, one cache line
export const STATE_CLEAN_SHUTDOWN: u32 = HDR_STATE;
export const STATE_LAST_COMMIT_ID: u32 = HDR_STATE + 8;

export const REGION_HEADER: u32 = 1;
export const REGION_FLUSH_RING: u32 = 2;
export const REGION_DIRTY_BITMAP: u32 = 3;
export const REGION_DATA: u32 = 4;
export const REGION_JOURNALS: u32 = 5;
export const REGION_UNDO_LOG: u32 = 6;
export const REGION_HEAP_META: u32 = 7;
export const REGION_FLAG_VOLATILE: u32 = 1; // contents are reset by recovery

// Transactions.
export const JOURNAL_COUNT: u32 = 4;
export const JOURNAL_HEADER: u32 = 64;
export const SMALL_POOL: u64 = 8 << 20; // below this, journals and the undo log are smaller
export const CHUNK_SHIFT: u32 = 16; // the allocator hands out 64 KiB chunks, split by size class
export const CHUNK_SIZE: u32 = 1 << CHUNK_SHIFT;
export const CHUNK_BITMAP_BYTES: u32 = 512; // one bit per 16-byte slot of a chunk
export const META_ROOT: u32 = 0; // u64 root offset, first word of the heap-meta region
export const META_KV_DIRECTORY: u32 = 8; // u64 offset of the newest cache (they link to the older ones)
export const META_DESCRIPTORS: u32 = 64; // u64 per chunk, then the bitmaps

export const FLUSH_RING_CAPACITY: u32 = 2048; // runs
export const RING_COUNT: u32 = 0; // u32: runs in use
export const RING_ENTRIES: u32 = 64; // runs of flushed lines: u32 first line index, u32 line count
export const RING_RUN_BYTES: u32 = 8;

export const DEVICE_ADR: u32 = 0;
export const DEVICE_EADR: u32 = 1;
export const DEVICE_NVDIMM_N: u32 = 2;

// Control block (volatile). Counters are u64.
export const CTL_DEVICE: u32 = 0;
export const CTL_POOL_SIZE: u32 = 8;
export const CTL_RING_OFFSET: u32 = 40;
export const CTL_BITMAP_OFFSET: u32 = 48;
export const CTL_DATA_OFFSET: u32 = 56;
export const CTL_COMMIT_ID: u32 = 64; // last commit ID handed out
export const CTL_DURABLE: u32 = 72; // every commit ID <= this has its in-place writes durable (a completed fence)
export const CTL_UNDO_CURSOR: u32 = 88; // u32: entries the open undo transaction used (redo state is per thread: journal.ts)
export const CTL_TX_ID: u32 = 96; // u64: ID of the open undo transaction
export const CTL_FREE_JOURNALS: u32 = 104; // u32 bitmask
export const CTL_INFLIGHT_JOURNALS: u32 = 108; // u32 bitmask
export const CTL_JOURNALS_OFFSET: u32 = 112;
export const CTL_JOURNAL_SIZE: u32 = 120;
export const CTL_UNDO_OFFSET: u32 = 128;
export const CTL_UNDO_SIZE: u32 = 136;
export const CTL_META_OFFSET: u32 = 144;
export const CTL_CHUNKS: u32 = 152;
export const CTL_FENCE_HOOK: u32 = 160; // u32: nonzero makes every fence call the host (crash-state exploration)
export const CTL_ISSUED: u32 = 168; // every commit ID <= this has its in-place writes issued (flushed, maybe not fenced)
export const CTL_TX_LOCK: u32 = 184; // i32, taken by the host around every transaction and save (see host/runtime/transaction-lock.ts)
export const CTL_WORKERS: u32 = 188; // i32 bitmask of the worker slots attached threads hold
export const CTL_APPLY_SEQUENCE: u32 = 192; // u32: odd while a redo commit applies its writes in place (a seqlock for readers on other threads)
export const APPLY_SEQUENCE_ADDRESS: usize = CONTROL_BASE + CTL_APPLY_SEQUENCE;
export const APPLIED_ADDRESS: usize = CONTROL_BASE + CTL_ISSUED;
export const CTL_OWNER_STATE: u32 = 256; // i32 on its own line: the owning thread's pool is running, closed or without power
export const OWNER_STATE_ADDRESS: usize = CONTROL_BASE + CTL_OWNER_STATE;
// Counters every commit writes live on their own line, away from the geometry
// that lookups on other threads read (a line shared with them would bounce).
export const CTL_LINES_FLUSHED: u32 = 320;
export const CTL_FENCES: u32 = 328;
export const CTL_FLUSH_HINTS: u32 = 336;
export const TX_LOCK_ADDRESS: usize = CONTROL_BASE + CTL_TX_LOCK;
export const WORKERS_ADDRESS: usize = CONTROL_BASE + CTL_WORKERS;
// Words that are read often and written rarely, on a line of their own (away from what every commit writes):
// u32: odd while an undo transaction is open (it writes in place as it goes). With
// the apply sequence, a seqlock for read-only transactions on other threads; concurrent transactions check it on every read.
export const CTL_WRITE_SEQUENCE: u32 = 384;
export const WRITE_SEQUENCE_ADDRESS: usize = CONTROL_BASE + CTL_WRITE_SEQUENCE;
// i32: nonzero once any thread has begun a concurrent transaction. Until then, commits skip stamping stripe
// versions. It stays set: a count of open transactions would be two atomic writes to a shared line each.
export const CTL_CONCURRENT_USED: u32 = 388;
export const CONCURRENT_USED_ADDRESS: usize = CONTROL_BASE + CTL_CONCURRENT_USED;
export const CTL_HEAP_HINTS: u32 = 768; // u32 chunk, u32 bitmap word per size class: where to look first
export const CTL_STAGING: u32 = 1024; // the owner's staging area (STAGING_BYTES): see staging()
export const STAGING_BYTES: u32 = 256;
export const CTL_WRITTEN_FILTER: u32 = 2048; // the owner's filter of the lines its open redo transaction wrote
export const WRITTEN_FILTER_BYTES: u32 = 1024;
export const CTL_KV_STATS: u32 = 3072; // per open cache handle: 16 blocks of 64 bytes
export const KV_STATS_ADDRESS: usize = CONTROL_BASE + CTL_KV_STATS;

export const TX_NONE: u32 = 0;
export const TX_REDO: u32 = 1;
export const TX_UNDO: u32 = 2;

// Status codes returned by transaction and allocator calls (0 = success).
export const TX_OK: i32 = 0;
export const TX_ERR_STATE: i32 = -1; // no transaction open, or one already open
export const TX_ERR_BOUNDS: i32 = -2; // range outside the data region
export const TX_ERR_TOO_LARGE: i32 = -3; // the journal or undo log is full
export const TX_ERR_NO_SPACE: i32 = -4; // the heap cannot satisfy the allocation
export const TX_ERR_BAD_POINTER: i32 = -5; // not the start of an allocated block
export const TX_ERR_DOUBLE_FREE: i32 = -6; // the block is already free
export const TX_ERR_BUSY: i32 = -8; // a concurrent transaction could not begin: a writer kept changing the pool (-7 is the caches' KV_ERR_FULL)

// Error codes returned by pool_check_header (0 = valid).
export const HEADER_OK: i32 = 0;
export const HEADER_BAD_MAGIC: i32 = 1;
export const HEADER_NEWER_VERSION: i32 = 2;
export const HEADER_BAD_CHECKSUM: i32 = 3;
export const HEADER_BAD_GEOMETRY: i32 = 4;

// This instance's scratch area, written-lines filter and staging area: the
// owner's at SCRATCH_BASE and in the control block, an attached worker's in its
// slot (core instances are per thread, and so are their globals). The filter is
// cleared at every transaction's begin, and the staging area holds the words a
// transaction stages for its reads and writes: areas shared by all threads
// moved their lines between the cores at every hand-over of the transaction
// lock (2 workers, 50% cache sets: 1.8 M ops/s with a shared filter, 2.25 M
// with one per thread).
let threadScratch: usize = SCRATCH_BASE;
let threadFilter: usize = CONTROL_BASE + CTL_WRITTEN_FILTER;
let threadStaging: usize = CONTROL_BASE + CTL_STAGING;
let threadConcurrent: usize = OWNER_CONCURRENT_AREA;
@inline export function scratch(): usize {
  return threadScratch;
}
@inline export function writtenFilter(): usize {
  return threadFilter;
}
/** This thread's staging area (STAGING_BYTES): a transaction's staged words (tx.ts) and a cache's (kv.ts). */
@inline export function staging(): usize {
  return threadStaging;
}
/** This thread's concurrent-transaction area (CONCURRENT_AREA_BYTES). */
@inline export function concurrentArea(): usize {
  return threadConcurrent;
}
/**
 * Points this instance's scratch area, written-lines filter (WRITTEN_FILTER_BYTES),
 * staging area (STAGING_BYTES) and concurrent-transaction area at an attached worker's own.
 */
export function thread_area(scratchAddress: usize, filterAddress: usize, stagingAddress: usize, concurrentAddress: usize): void {
  threadScratch = scratchAddress;
  threadFilter = filterAddress;
  threadStaging = stagingAddress;
  threadConcurrent = concurrentAddress;
}

@inline export function poolAddr(offset: usize): usize {
  return POOL_BASE + offset;
}

@inline export function ctl<T>(field: u32): T {
  return load<T>(CONTROL_BASE + field);
}

@inline export function setCtl<T>(field: u32, value: T): void {
  store<T>(CONTROL_BASE + field, value);
}
