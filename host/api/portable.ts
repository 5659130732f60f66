// What both entries export: everything that runs on Node and in browsers alike.
export { Pool, type PoolInfo, type PoolOpenOptions } from './pool.js';
export { Transaction, type TxLog, type TxOptions } from './transaction.js';
export { AttachedPool } from './attached-pool.js';
export type { PoolHandle } from '../runtime/attached-runtime.js';
export { type KvEvict, type KvOptions, type KvRehash } from './kv-options.js';
export { Kv, type KvBatch, type KvKey, type KvStats, type KvValue, KV_MAX_KEY_BYTES, KV_MAX_VALUE_BYTES, KV_MAX_NAME_BYTES } from './kv.js';
export type { HeapStats, SyncMode } from '../runtime/pool-runtime.js';
export * from '../errors.js';
export { DEVICE_PERSONALITIES, type DevicePersonality } from '../device/personality.js';
export type { CrashOptions, DeviceCounters, NvdimmDevice } from '../device/nvdimm-device.js';
export type { Platform, PowerLossReport, BackgroundFlushOptions } from '../platform/platform.js';
export type { RestoreReport } from '../platform/power-target.js';
export type { SignalHandlerOptions } from '../platform/signals.js';
export type { BackingStore, BlockFile } from '../store/block-file.js';
export type { SaveReport, SlotInfo } from '../store/image-store.js';
export { MemoryStore } from '../store/memory-store.js';
