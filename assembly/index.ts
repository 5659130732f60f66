// The wasm-pmem core. Imports: one memory (`env.memory`, shared in the threads
// build) and two persistence hooks (`env.pm_drain_ring`, `env.pm_flush_hint`).
// Everything else is exported below; the README documents the ABI.
export {
  CONTROL_BASE, SCRATCH_BASE, SCRATCH_SIZE, POOL_BASE, PAGE_SIZE, FLUSH_RING_CAPACITY,
} from "./layout";
export { xxh64, hash_pages, hash_scratch, HASH_BATCH } from "./xxhash64";
export {
  pool_format, pool_check_header, pool_attach, pool_reset_volatile, pool_device, pool_version,
  pool_size, pool_region_count, pool_uuid_to_scratch, pool_clean_shutdown, pool_last_commit_id,
  region_kind, region_flags, region_offset, region_length,
} from "./header";
export {
  pm_mark_dirty, pm_flush, pm_fence, pm_flush_hint, pm_persist, pool_set_clean_shutdown,
  pool_set_last_commit_id, ctl_lines_flushed, ctl_fences, ctl_flush_hints, ring_count, ring_clear,
  pool_ring_offset, pool_bitmap_offset, pool_data_offset,
} from "./persist";
