// The wasm-pmem core. Imports: one memory (`env.memory`, shared in the threads
// build) and two persistence hooks (`env.pm_drain_ring`, `env.pm_flush_hint`).
// Everything else is exported below; the README documents the ABI.
export {
  CONTROL_BASE, SCRATCH_BASE, SCRATCH_SIZE, POOL_BASE, PAGE_SIZE, FLUSH_RING_CAPACITY, TX_LOCK_ADDRESS, WORKERS_ADDRESS,
  APPLY_SEQUENCE_ADDRESS, WRITE_SEQUENCE_ADDRESS, OWNER_STATE_ADDRESS, KV_STATS_ADDRESS, thread_area, WRITTEN_FILTER_BYTES, STAGING_BYTES,
  CONCURRENT_AREA_BYTES,
} from "./layout";
export { xxh64, hash_pages, hash_page_list, hash_scratch, HASH_BATCH } from "./xxhash64";
export {
  pool_format, pool_check_header, pool_attach, pool_reset_volatile, pool_device, pool_version,
  pool_size, pool_region_count, pool_uuid_to_scratch, pool_clean_shutdown, pool_last_commit_id,
  region_kind, region_flags, region_offset, region_length,
} from "./header";
export {
  pm_mark_dirty, pm_flush, pm_fence, pm_flush_hint, pm_persist, pool_set_clean_shutdown,
  pool_set_last_commit_id, ctl_lines_flushed, ctl_fences, ctl_flush_hints, ring_count, ring_clear,
  pool_ring_offset, pool_bitmap_offset, pool_data_offset, pm_set_fence_hook, mem_copy,
} from "./persist";
export {
  tx_begin, tx_write, tx_read, tx_get_u32, tx_get_u64, tx_get_f64, tx_set_u32, tx_set_u64, tx_set_f64,
  tx_root, pool_root_at, tx_set_root, tx_commit, tx_abort, tx_recover, tx_settle, tx_last_commit_id,
  tx_begin_concurrent, tx_validate, tx_wrote,
} from "./tx";
export { tx_doomed_at } from "./concurrent";
export { heap_alloc, heap_free, heap_stats, heap_check } from "./heap";
export { redo_last_record, redo_record_length, redo_apply_record } from "./journal";
export { undo_last_record } from "./undo";
export {
  kv_get_num, kv_get_bytes, kv_set_num, kv_set_bytes, kv_delete_num, kv_delete_bytes, kv_get_many_num, kv_set_many_num,
  kv_block_size, kv_create, kv_next, kv_name, kv_find, kv_open, kv_info, kv_entry, kv_ghost, kv_check,
  kv_buckets_left, kv_migrate, kv_current, KV_REHASH_BLOCKING, KV_MAX_SEGMENTS,
  KV_MAX_KEY, KV_MAX_VALUE, KV_MAX_NAME, KV_EVICT_TWO_PHASE, KV_STATS_SLOTS, KV_STATS_BYTES, KV_ERR_FULL,
} from "./kv";
