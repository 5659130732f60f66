// Linear-memory map and pool layout v1. Every persistent structure is a plain
// record at a pool-relative offset, so an image is byte-for-byte portable.
//
//   [0, 64 KiB)        AssemblyScript statics (re-applied by every instance)
//   [64 KiB, 128 KiB)  control block: volatile counters and host scratch, shared by all threads
//   [128 KiB, ...)     the pool: header page, flush ring, dirty-page bitmap, data

export const CONTROL_BASE: usize = 65536;
export const SCRATCH_BASE: usize = CONTROL_BASE + 4096;
export const SCRATCH_SIZE: usize = 61440;
export const POOL_BASE: usize = 131072;

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
export const REGION_FLAG_VOLATILE: u32 = 1; // contents are reset by recovery

export const FLUSH_RING_CAPACITY: u32 = 4096;
export const RING_COUNT: u32 = 0; // u32: entries in use
export const RING_ENTRIES: u32 = 64; // u32 line indexes

export const DEVICE_ADR: u32 = 0;
export const DEVICE_EADR: u32 = 1;
export const DEVICE_NVDIMM_N: u32 = 2;

// Control block (volatile). Counters are u64.
export const CTL_DEVICE: u32 = 0;
export const CTL_POOL_SIZE: u32 = 8;
export const CTL_LINES_FLUSHED: u32 = 16;
export const CTL_FENCES: u32 = 24;
export const CTL_FLUSH_HINTS: u32 = 32;
export const CTL_RING_OFFSET: u32 = 40;
export const CTL_BITMAP_OFFSET: u32 = 48;
export const CTL_DATA_OFFSET: u32 = 56;

// Error codes returned by pool_check_header (0 = valid).
export const HEADER_OK: i32 = 0;
export const HEADER_BAD_MAGIC: i32 = 1;
export const HEADER_NEWER_VERSION: i32 = 2;
export const HEADER_BAD_CHECKSUM: i32 = 3;
export const HEADER_BAD_GEOMETRY: i32 = 4;

@inline export function poolAddr(offset: usize): usize {
  return POOL_BASE + offset;
}

@inline export function ctl<T>(field: u32): T {
  return load<T>(CONTROL_BASE + field);
}

@inline export function setCtl<T>(field: u32, value: T): void {
  store<T>(CONTROL_BASE + field, value);
}
