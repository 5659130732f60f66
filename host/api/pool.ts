// The public Pool API: open/create, raw reads and writes of the data region,
// persistence primitives, checkpoints, the platform model and clean shutdown.
import type { DeviceCounters, NvdimmDevice } from '../device/nvdimm-device.js';
import { type DevicePersonality, parsePersonality } from '../device/personality.js';
import { InvalidArgumentError, NoSpaceError, PoolNotFoundError } from '../errors.js';
import { Kv, findCache } from './kv.js';
import { type KvOptions, type ParsedKvOptions, checkCreatable, checkMatches, creationFlags, hashSeedFor, parseKvOptions } from './kv-options.js';
import { type Transaction, type TxOptions, parseTxOptions, runTransaction, runTransactionAsync } from './transaction.js';
import { AttachedPool } from './attached-pool.js';
import type { PoolHandle } from '../runtime/attached-runtime.js';
import { Platform } from '../platform/platform.js';
import type { RestoreReport } from '../platform/power-target.js';
import { installSignalHandlers, type SignalHandlerOptions } from '../platform/signals.js';
import type { CacheSummary } from '../runtime/cache-inspection.js';
import { type HeapStats, PoolRuntime, type SyncMode } from '../runtime/pool-runtime.js';
import type { BackingStore } from '../store/block-file.js';
import type { ProgressCallback, SaveReport, SlotInfo } from '../store/image-store.js';

export interface PoolOpenOptions {
  /** Path of the pool file (a file store with real fsync). Give `path` or `store`. */
  path?: string;
  /** Any backing store, e.g. `new MemoryStore()` for throwaway pools. */
  store?: BackingStore;
  /** Pool size in bytes; required when the pool is created. */
  size?: number;
  /** Create the pool if it does not exist. */
  create?: boolean;
  /** Device personality; defaults to the pool's own, or 'nvdimm-n' for a new pool. */
  device?: DevicePersonality;
  /** Background flushing interval in ms; 0 turns it off. Default 1000. */
  backgroundFlushMs?: number;
  /**
   * adr pools: a commit is durable once its record reached the backing store,
   * written and fdatasynced ('full', the default) or only written ('none':
   * survives a process kill, not a power loss).
   */
  sync?: SyncMode;
  /** Called while a large image loads. */
  onProgress?: ProgressCallback;
}

export interface PoolInfo {
  location: string;
  uuid: string;
  device: DevicePersonality;
  size: number;
  dataOffset: number;
  dataSize: number;
  lastCommitId: bigint;
  generation: number;
  heap: HeapStats;
  /** The persistent caches (`kv`), newest first. */
  caches: CacheSummary[];
  slots: SlotInfo[];
  counters: DeviceCounters;
}

/** The store behind `options`: the given one, or a file store at `path` (Node only: loaded on demand, so browsers never fetch it). */
export async function storeFor(options: { path?: string; store?: BackingStore }): Promise<BackingStore> {
  if (options.store) return options.store;
  if (typeof options.path !== 'string' || options.path === '') {
    throw new InvalidArgumentError('give a pool `path` or a backing `store`');
  }
  const { NodeFileStore } = await import('../store/node-file-store.js');
  return new NodeFileStore(options.path);
}

export class Pool {
  /** The BIOS/platform model: AC power loss, power restore, background flushing. */
  readonly platform: Platform;
  private readonly caches = new Map<string, Kv>();

  private constructor(private readonly runtime: PoolRuntime) {
    this.platform = new Platform(runtime);
  }

  /** Opens a pool, creating it first when `create` is set and none exists. */
  static async open(options: PoolOpenOptions): Promise<Pool> {
    if (options === null || typeof options !== 'object') throw new InvalidArgumentError('options must be an object');
    const store = await storeFor(options);
    const device = options.device === undefined ? undefined : parsePersonality(options.device);
    const sync = options.sync ?? 'full';
    if (sync !== 'full' && sync !== 'none') throw new InvalidArgumentError(`sync must be 'full' or 'none'; got ${String(sync)}`);
    let runtime: PoolRuntime;
    if (!store.exists()) {
      if (!options.create) throw new PoolNotFoundError(store.location);
      if (options.size === undefined) throw new InvalidArgumentError('size is required to create a pool');
      runtime = await PoolRuntime.create(store, { size: options.size, device: device ?? 'nvdimm-n', sync });
    } else {
      runtime = await PoolRuntime.open(store, { device, onProgress: options.onProgress, sync });
    }
    const pool = new Pool(runtime);
    const flushMs = options.backgroundFlushMs ?? 1000;
    if (flushMs > 0) pool.platform.startBackgroundFlush({ intervalMs: flushMs });
    return pool;
  }

  /** The modelled NVDIMM: counters and crash injection. */
  get device(): NvdimmDevice {
    return this.runtime.device;
  }

  get size(): number {
    return this.runtime.poolSize;
  }

  /** First offset of the data region; offsets below it hold pool metadata. */
  get dataOffset(): number {
    return this.runtime.dataOffset;
  }

  get dataSize(): number {
    return this.runtime.poolSize - this.runtime.dataOffset;
  }

  /** What opening (or the last power restore) found. */
  get lastRestore(): RestoreReport | undefined {
    return this.runtime.lastRestore;
  }

  /**
   * Runs `fn` as one failure-atomic transaction and resolves once it is durable
   * under the pool's device: on an adr pool, once its record reached the backing
   * store. Transactions issued without awaiting each other share one fdatasync.
   * If `fn` throws, nothing it wrote remains and the promise rejects.
   */
  async tx<T>(fn: (tx: Transaction) => T, options?: TxOptions): Promise<T> {
    const pending = runTransactionAsync(this.runtime, fn, parseTxOptions(options));
    const result = pending instanceof Promise ? await pending : pending;
    await this.runtime.whenDurable();
    return result;
  }

  /**
   * The synchronous form of `tx`: durable when it returns. At memory speed on
   * eadr and nvdimm-n pools; on adr pools it writes and syncs the commit itself.
   */
  txSync<T>(fn: (tx: Transaction) => T, options?: TxOptions): T {
    const result = runTransaction(this.runtime, fn, parseTxOptions(options));
    this.runtime.flushCommits();
    return result;
  }

  /**
   * The persistent cache named `name`, created with `capacity` entries if the
   * pool has none of that name. Creating one is a transaction; on an adr pool
   * it also saves an image, which carries the cache's zeroed tables.
   */
  kv(name: string, options: KvOptions = {}): Kv {
    this.runtime.assertRunning();
    const { core } = this.runtime;
    const parsed = parseKvOptions(options, core);
    const open = this.caches.get(name);
    if (open) return this.matching(open, parsed);
    const found = findCache(this.runtime, name, this.caches.size);
    let { offset } = found;
    if (offset === 0) {
      if (parsed.capacity === undefined) throw new InvalidArgumentError(`there is no cache ${name}: give a capacity to create it`);
      checkCreatable(parsed);
      offset = this.createCache(found.nameBytes, parsed.capacity, parsed.maxCapacity ?? parsed.capacity, creationFlags(parsed, core), hashSeedFor(parsed));
    }
    const statsAt = core.KV_STATS_ADDRESS.value + this.caches.size * core.KV_STATS_BYTES.value;
    core.kv_open(offset, statsAt);
    const kv = new Kv(this.runtime, offset, statsAt, name);
    this.caches.set(name, this.matching(kv, parsed));
    return kv;
  }

  private createCache(nameBytes: Uint8Array, capacity: number, maxCapacity: number, flags: number, hashSeed: number): number {
    const { runtime } = this;
    runtime.assertNoTransaction();
    runtime.prepareRawStore();
    runtime.beginTransaction('redo');
    runtime.scratch.set(nameBytes);
    const offset = Number(runtime.core.kv_create(capacity, maxCapacity, flags, nameBytes.length, hashSeed));
    if (offset < 0) {
      runtime.abortTransaction();
      throw new NoSpaceError(runtime.core.kv_block_size(capacity, flags));
    }
    runtime.commitTransaction();
    runtime.flushCommits();
    if (runtime.personality === 'adr') runtime.save();
    return offset;
  }

  /** `kv` if it has the geometry and policy asked for (where asked). */
  private matching(kv: Kv, options: ParsedKvOptions): Kv {
    checkMatches(kv.name, kv.info(), options);
    return kv;
  }

  /** The newest commit ID. */
  get lastCommitId(): bigint {
    return this.runtime.core.tx_last_commit_id();
  }

  /** Copies `length` bytes at pool offset `offset`. */
  read(offset: number, length: number): Uint8Array {
    this.runtime.assertRunning();
    this.runtime.checkDataRange(offset, length);
    return this.runtime.pool.slice(offset, offset + length);
  }

  /**
   * Stores `bytes` at pool offset `offset`. By default the range is also flushed
   * and fenced, so it is durable under the pool's device when this returns; with
   * `{ persist: false }` it is a plain store (see `flush` and `fence`).
   */
  write(offset: number, bytes: Uint8Array, options: { persist?: boolean } = {}): void {
    this.runtime.assertRunning();
    if (!(bytes instanceof Uint8Array)) throw new InvalidArgumentError('bytes must be a Uint8Array');
    this.runtime.checkDataRange(offset, bytes.length);
    this.runtime.storeRaw(offset, bytes);
    if (options.persist ?? true) this.runtime.core.pm_persist(offset, bytes.length);
    else this.runtime.core.pm_mark_dirty(offset, bytes.length);
  }

  /** Cache-line write-back of every line overlapping the range. */
  flush(offset: number, length: number): void {
    this.runtime.assertRunning();
    this.runtime.assertNoTransaction();
    this.runtime.checkDataRange(offset, length);
    this.runtime.core.pm_flush(offset, length);
  }

  /** Ordering point: lines flushed before it reach the persistence domain. */
  fence(): void {
    this.runtime.assertRunning();
    this.runtime.core.pm_fence();
  }

  /** Flush-hint write: drains the write pending queues into the media. */
  flushHint(): void {
    this.runtime.assertRunning();
    this.runtime.core.pm_flush_hint();
  }

  /** Saves the pool's durable image to the backing store (incremental unless `full`). */
  async checkpoint(options: { full?: boolean; onProgress?: ProgressCallback } = {}): Promise<SaveReport> {
    this.runtime.assertRunning();
    this.runtime.assertNoTransaction();
    return this.runtime.save(options);
  }

  info(): PoolInfo {
    const slots = this.runtime.slots();
    return {
      location: this.runtime.store.location,
      uuid: this.runtime.uuid,
      device: this.runtime.personality,
      size: this.size,
      dataOffset: this.dataOffset,
      dataSize: this.dataSize,
      lastCommitId: this.lastCommitId,
      heap: this.runtime.heapStats(),
      caches: this.runtime.caches(),
      generation: this.runtime.generation,
      slots,
      counters: this.device.counters(),
    };
  }

  /** Maps SIGPWR and SIGTERM onto `platform.acPowerLoss` (Node only). Returns an uninstaller. */
  installSignalHandlers(options?: SignalHandlerOptions): () => void {
    return installSignalHandlers(this.platform, options);
  }

  /**
   * A handle to post to a worker thread, which attaches with `Pool.attach(handle)`
   * and runs transactions on this pool's memory (eadr and nvdimm-n pools).
   */
  workerHandle(): PoolHandle {
    return this.runtime.workerHandle();
  }

  /** In a worker thread: attaches to the pool behind a handle from `pool.workerHandle()`. */
  static attach(handle: PoolHandle): Promise<AttachedPool> {
    return AttachedPool.attach(handle);
  }

  /** Clean shutdown: the final image is saved and marked clean. Safe to call twice (EBUSY while workers are attached). */
  async close(): Promise<void> {
    this.runtime.assertNoWorkers();
    this.platform.stopBackgroundFlush();
    this.runtime.close();
  }
}
