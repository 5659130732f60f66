// Pool lifecycle: create, open, recover, save, power off/on, close. Owns the
// shared memory, the core instance, the device model and the image store.
import { CoreChecksummer, utilityChecksummer } from '../core/core-checksummer.js';
import {
  type Core, type CoreHooks, MAX_MEMORY_PAGES, WASM_PAGE, coreLayout, createCoreMemory, ensureMemory,
  instantiateCore,
} from '../core/core.js';
import { NvdimmDevice } from '../device/nvdimm-device.js';
import { type DevicePersonality, personalityCode, personalityFromCode } from '../device/personality.js';
import {
  CorruptImageError, DeviceMismatchError, InvalidArgumentError, NestedTransactionError, PmemError,
  PoolClosedError, PowerOffError, ReadOnlyTransactionError,
} from '../errors.js';
import type { PowerTarget, RestoreReport } from '../platform/power-target.js';
import type { BackingStore } from '../store/block-file.js';
import { CommitLog, LOG_PAGE } from '../store/commit-log.js';
import {
  type TransactionHost, type TxMode, beginConcurrent, beginUnderLock, checkDataRange, lockConcurrentCommit,
} from './transaction-host.js';
import type { PoolHandle } from './attached-runtime.js';
import { SharedOwnerState } from './owner-state.js';
import { SnapshotReader } from './snapshot-reader.js';
import { TransactionLock } from './transaction-lock.js';
import { WorkerSlots, workerMemoryEnd } from './worker-slots.js';
import { type CacheSummary, cacheSummaries, ownerReader } from './cache-inspection.js';
import { ImageStore, type ProgressCallback, type SaveOptions, type SaveReport } from '../store/image-store.js';

export const PAGE_SIZE = 4096;
const MIN_POOL_SIZE = 1 << 20;

/** Linear memory an adr pool's commit log stages its group of records in (records are copied there inside Wasm). */
const COMMIT_BATCH_BYTES = 1 << 20;
/** The commit batch follows the device's memory, page-aligned (see CommitLog). */
const commitBatchAt = (personality: DevicePersonality, poolBase: number, poolSize: number) =>
  Math.ceil(NvdimmDevice.memoryBytes(personality, poolBase, poolSize) / LOG_PAGE) * LOG_PAGE;
/** Linear memory below and beside the pool: the core's statics, control block and scratch area, and adr's queues and batch. */
const RESERVED_BYTES = 4 << 20;

/** The largest pool a personality supports in wasm32's 4 GiB (adr also keeps its media in memory). */
function maxPoolSize(personality: DevicePersonality): number {
  const available = MAX_MEMORY_PAGES * WASM_PAGE - RESERVED_BYTES;
  return Math.floor(available / (personality === 'adr' ? 2 : 1) / WASM_PAGE) * WASM_PAGE;
}

function validatePoolSize(size: unknown, personality: DevicePersonality): number {
  const max = maxPoolSize(personality);
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < MIN_POOL_SIZE || size > max || size % PAGE_SIZE) {
    throw new InvalidArgumentError(
      `pool size must be a multiple of ${PAGE_SIZE} bytes between ${MIN_POOL_SIZE} and ${max} for '${personality}'`,
      { size },
    );
  }
  return size;
}

const HEADER_PROBLEMS = ['', 'bad magic', 'newer pool format', 'header checksum mismatch', 'impossible geometry'];

type RuntimeState = 'running' | 'quiesced' | 'off' | 'closed';

/** How a commit reaches the backing store on a durable (adr) pool: written and fdatasynced, or written only. */
export type SyncMode = 'full' | 'none';

export interface HeapStats {
  chunks: number;
  freeChunks: number;
  usedBytes: number;
  freeBytes: number;
  largestFreeBytes: number;
  blocks: number;
  /** 1 - largest free run / free bytes: 0 when all free space is contiguous. */
  fragmentation: number;
}


/** A crash image after recovery: the recovered pool, and the first invariant it breaks, if any. */
export interface RecoveredImage {
  core: Core;
  pool: Uint8Array;
  heap: HeapStats | undefined;
  problem: string | undefined;
}

/** What is wrong with the pool header of the image in `core`'s memory, if anything. */
function headerProblem(core: Core, poolSize: number): string | undefined {
  const problem = core.pool_check_header(BigInt(poolSize));
  return problem === 0 ? undefined : HEADER_PROBLEMS[problem];
}

/**
 * Recovery of an attached image in memory: the volatile regions start empty, the
 * media (adr) equals the image, committed journals are replayed and an
 * unfinished undo transaction rolled back.
 */
function recoverInMemory(core: Core, device: NvdimmDevice): void {
  core.pool_reset_volatile();
  device.writeBackAll();
  core.tx_recover();
}

function readHeapStats(core: Core, memory: WebAssembly.Memory): HeapStats {
  core.heap_stats();
  const words = new BigUint64Array(memory.buffer, coreLayout(core).scratchBase, 6);
  const [chunks, freeChunks, usedBytes, freeBytes, largestFreeBytes, blocks] = Array.from(words, Number);
  const fragmentation = freeBytes === 0 ? 0 : 1 - largestFreeBytes / freeBytes;
  return { chunks, freeChunks, usedBytes, freeBytes, largestFreeBytes, blocks, fragmentation };
}

interface Parts {
  memory: WebAssembly.Memory;
  core: Core;
  device: NvdimmDevice;
  checksummer: CoreChecksummer;
}

export class PoolRuntime implements PowerTarget, TransactionHost {
  private state: RuntimeState = 'off';
  private readonly layout: ReturnType<typeof coreLayout>;
  /** The host's staging area inside the core's memory (a pool's memory does not grow once open, so the view stays valid). */
  readonly scratch: Uint8Array;
  private dataStart = 0;
  /** What the last power-on found: recovery ran unless the image came from a clean shutdown. */
  lastRestore: RestoreReport | undefined;
  /** Durable pools (adr): committed records waiting for the file, and the group commit that will write them. */
  private commitLog: CommitLog | undefined;
  private groupCommit: Promise<void> | undefined;
  private txLog: TxMode | undefined;
  /** Whether the open transaction is concurrent and has not taken the lock yet. */
  private concurrent = false;
  /** Releases the exclusive right to write the pool (a no-op for read-only pools). */
  private releaseLock: () => void = () => {};
  /** A redo commit since the last settle: its journal may still be replayed by recovery. */
  private unsettled = false;
  sync: SyncMode = 'full';
  /** Taken around every transaction and save: attached workers run transactions on the same memory. */
  private readonly txLock: TransactionLock;
  private readonly workerSlots: WorkerSlots;
  /** What attached workers see of this pool's state. */
  private readonly ownerState: SharedOwnerState;
  readonly snapshot: SnapshotReader;
  readonly doomed: Int32Array;

  private constructor(
    readonly store: BackingStore,
    private image: ImageStore,
    readonly memory: WebAssembly.Memory,
    readonly core: Core,
    readonly device: NvdimmDevice,
    private readonly checksummer: CoreChecksummer,
    readonly readOnly: boolean,
  ) {
    this.layout = coreLayout(core);
    this.scratch = new Uint8Array(memory.buffer, this.layout.scratchBase, this.layout.scratchSize);
    this.txLock = new TransactionLock(memory.buffer, core.TX_LOCK_ADDRESS.value);
    this.workerSlots = new WorkerSlots(memory.buffer, core.WORKERS_ADDRESS.value);
    this.ownerState = new SharedOwnerState(memory.buffer, core.OWNER_STATE_ADDRESS.value);
    this.snapshot = new SnapshotReader(memory.buffer, this.layout.poolBase, core);
    this.doomed = new Int32Array(memory.buffer, core.tx_doomed_at(), 1);
  }

  private static async parts(personality: DevicePersonality, poolSize: number): Promise<Parts> {
    const memory = createCoreMemory();
    const hooks: CoreHooks = { drainRing() {}, flushHint() {} };
    const core = await instantiateCore(memory, hooks);
    const { poolBase } = coreLayout(core);
    // adr pools keep a commit batch after the device's memory; the others, scratch areas for attached workers.
    ensureMemory(
      memory,
      personality === 'adr'
        ? commitBatchAt(personality, poolBase, poolSize) + COMMIT_BATCH_BYTES
        : workerMemoryEnd(NvdimmDevice.memoryBytes(personality, poolBase, poolSize)),
    );
    const device = new NvdimmDevice(personality, core, memory, poolBase, poolSize);
    Object.assign(hooks, device.hooks());
    return { memory, core, device, checksummer: new CoreChecksummer(core, memory) };
  }

  /** Formats a new pool and writes its first image; the file appears only once complete. */
  static async create(
    store: BackingStore,
    options: { size: number; device: DevicePersonality; replace?: boolean; sync?: SyncMode },
  ): Promise<PoolRuntime> {
    const size = validatePoolSize(options.size, options.device);
    const release = store.lock(); // also keeps a replace from overwriting a pool that is in use
    try {
      await PoolRuntime.formatImage(store, size, options);
    } catch (error) {
      release();
      throw error;
    }
    return PoolRuntime.open(store, { device: options.device, sync: options.sync, lock: release });
  }

  /** Formats a pool in a fresh memory and writes its first image file. */
  private static async formatImage(
    store: BackingStore,
    size: number,
    options: { device: DevicePersonality; replace?: boolean },
  ): Promise<void> {
    const { core, device, checksummer, memory } = await PoolRuntime.parts(options.device, size);
    const uuid = new Uint8Array(16);
    const hex = crypto.randomUUID().replaceAll('-', '');
    for (let i = 0; i < 16; i++) uuid[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
    new Uint8Array(memory.buffer, coreLayout(core).scratchBase, 16).set(uuid);
    core.pool_format(BigInt(size), personalityCode(options.device));
    core.pool_attach();
    device.writeBackAll();
    const geometry = {
      pageSize: PAGE_SIZE,
      pageCount: size / PAGE_SIZE,
      poolSize: size,
      device: personalityCode(options.device),
      uuid,
      createdAtMs: Date.now(),
    };
    ImageStore.create(store, geometry, device.durableImage(), checksummer, { replace: options.replace });
  }

  /** Opens an existing pool: loads its newest complete image and runs recovery. */
  static async open(
    store: BackingStore,
    options: {
      device?: DevicePersonality;
      readOnly?: boolean;
      onProgress?: ProgressCallback;
      sync?: SyncMode;
      /** The pool's lock, when the caller already holds it. */
      lock?: () => void;
    } = {},
  ): Promise<PoolRuntime> {
    const release = options.lock ?? (options.readOnly ? () => {} : store.lock());
    try {
      return await PoolRuntime.openLocked(store, options, release);
    } catch (error) {
      release();
      throw error;
    }
  }

  private static async openLocked(
    store: BackingStore,
    options: { device?: DevicePersonality; readOnly?: boolean; onProgress?: ProgressCallback; sync?: SyncMode },
    release: () => void,
  ): Promise<PoolRuntime> {
    const probe = await PoolRuntime.probe(store);
    const personality = personalityFromCode(probe.geometry.device);
    probe.close();
    if (options.device !== undefined && options.device !== personality) {
      throw new DeviceMismatchError(options.device, personality);
    }
    const { memory, core, device, checksummer } = await PoolRuntime.parts(personality, probe.geometry.poolSize);
    const image = ImageStore.open(store, options.readOnly ? 'read' : 'write', checksummer);
    const runtime = new PoolRuntime(store, image, memory, core, device, checksummer, options.readOnly ?? false);
    runtime.sync = options.sync ?? 'full';
    runtime.releaseLock = release;
    try {
      runtime.lastRestore = runtime.loadAndRecover(options.onProgress, !options.readOnly);
    } catch (error) {
      runtime.image.close();
      runtime.commitLog?.close();
      throw error;
    }
    return runtime;
  }

  /**
   * Recovers a raw pool image (a crash image) in a fresh instance, as opening it
   * would, without a backing store. The result is for inspection only.
   */
  static async recoverImage(image: Uint8Array, personality: DevicePersonality): Promise<RecoveredImage> {
    const { core, device, memory } = await PoolRuntime.parts(personality, image.length);
    device.pool.set(image);
    const problem = headerProblem(core, image.length);
    if (problem) return { core, pool: device.pool, heap: undefined, problem: `pool header: ${problem}` };
    core.pool_attach();
    recoverInMemory(core, device);
    const bad = Number(core.heap_check());
    const heap = readHeapStats(core, memory);
    return { core, pool: device.pool, heap, problem: bad === 0 ? undefined : `allocator metadata of chunk ${bad - 1}` };
  }

  /** Opens the image file only far enough to read its geometry (no pool memory). */
  static async probe(store: BackingStore): Promise<ImageStore> {
    return ImageStore.open(store, 'read', await utilityChecksummer());
  }

  get poolSize(): number {
    return this.device.poolSize;
  }

  get personality(): DevicePersonality {
    return this.device.personality;
  }

  get geometry() {
    return this.image.geometry;
  }

  get uuid(): string {
    const hex = Array.from(this.geometry.uuid, (b) => b.toString(16).padStart(2, '0')).join('');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }

  /** Offset of the data region: everything below it is pool metadata. */
  get dataOffset(): number {
    return this.dataStart;
  }

  /** The pool as the CPU sees it. */
  get pool(): Uint8Array {
    return this.device.pool;
  }

  get poweredOn(): boolean {
    return this.state === 'running';
  }

  slots() {
    return this.image.slotInfo();
  }

  /** The generation of the newest saved image (bumped by every save). */
  get generation(): number {
    return this.image.generation();
  }

  /** The slot holding the newest image. */
  get newestSlot(): number | undefined {
    return this.image.newestSlot();
  }

  /** Throws unless the pool admits work. */
  assertRunning(): void {
    if (this.state === 'closed') throw new PoolClosedError();
    if (this.state !== 'running') throw new PowerOffError();
  }

  private loadAndRecover(onProgress: ProgressCallback | undefined, writable: boolean): RestoreReport {
    const load = this.image.load(this.pool, onProgress);
    const { core } = this;
    const problem = headerProblem(core, this.poolSize);
    if (problem) {
      throw new CorruptImageError(`the pool header in image slot ${load.slot} is invalid: ${problem}`, { where: 'pool-header' });
    }
    if (core.pool_device() !== this.geometry.device) {
      throw new CorruptImageError('the pool header and the file header disagree on the device', { where: 'pool-header' });
    }
    core.pool_attach();
    this.dataStart = Number(core.pool_data_offset());
    const cleanShutdown = core.pool_clean_shutdown() === 1n;
    if (writable) {
      recoverInMemory(core, this.device);
      core.pool_set_clean_shutdown(0n);
    }
    this.state = 'running';
    this.ownerState.set('running');
    if (writable && this.personality === 'adr') this.replayCommitLog();
    return { generation: load.generation, cleanShutdown, bytes: load.bytes, durationMs: load.durationMs };
  }

  /**
   * Durable pools keep a commit log beside the image: commits newer than the
   * image are replayed in order, folded into a fresh image, and the log emptied.
   */
  private replayCommitLog(): void {
    this.commitLog?.close();
    const batchAt = commitBatchAt(this.personality, this.layout.poolBase, this.poolSize);
    const batch = {
      view: new Uint8Array(this.memory.buffer, batchAt, COMMIT_BATCH_BYTES),
      copy: (dst: number, src: number, length: number) => this.core.mem_copy(dst, src, length),
    };
    this.commitLog = new CommitLog(this.store.openCommitLog({ direct: this.sync === 'full' }), this.image.generation(), this.fileIdentity(), batch);
    let replayed = 0;
    for (const record of this.commitLog.records()) {
      if (record.length > this.scratch.length) break; // no record is that long: a damaged tail
      this.scratch.set(record);
      const applied = this.core.redo_apply_record(this.scratch.byteOffset, record.length);
      if (applied < 0n) break; // a torn tail: it was never acknowledged
      if (applied > 0n) replayed++;
    }
    if (replayed > 0) {
      this.core.tx_settle();
      this.save();
    }
  }

  /** Identifies this image file: its pool UUID and creation time (a restored or replaced pool gets a new time). */
  private fileIdentity(): bigint {
    const bytes = new Uint8Array(24);
    bytes.set(this.geometry.uuid);
    new DataView(bytes.buffer).setBigUint64(16, BigInt(this.geometry.createdAtMs), true);
    return this.checksummer.hashBytes(bytes, 0n);
  }

  get inTransaction(): boolean {
    return this.txLog !== undefined;
  }

  checkDataRange(offset: unknown, length: unknown): void {
    checkDataRange(offset, length, this.dataStart, this.poolSize);
  }

  /** Throws unless raw (non-transactional) access is allowed right now. */
  assertNoTransaction(): void {
    if (this.inTransaction) throw new NestedTransactionError('raw access is not allowed while a transaction is open');
  }

  /**
   * Before a raw store: make committed redo transactions settled (their
   * in-place writes durable and the pool header's applied ID past them), so that
   * recovery never replays an older journal over the raw bytes.
   */
  prepareRawStore(): void {
    this.assertNoTransaction();
    if (this.snapshot.active) throw new ReadOnlyTransactionError();
    // Attached workers' commits may be unsettled too.
    if (!this.unsettled && this.workerSlots.attached === 0) return;
    this.txLock.acquire();
    try {
      this.core.tx_settle();
    } finally {
      this.txLock.release();
    }
    this.unsettled = false;
  }

  get lock(): TransactionLock {
    return this.txLock;
  }

  beginTransaction(log: TxMode, concurrent = false): void {
    this.assertRunning();
    if (this.inTransaction) throw new NestedTransactionError();
    if (this.snapshot.active) throw new ReadOnlyTransactionError();
    if (concurrent) beginConcurrent(this.core);
    else beginUnderLock(this.core, this.txLock, log);
    this.concurrent = concurrent;
    this.txLog = log;
  }

  /** A raw store into the pool: under the lock, so that it never overlaps an undo transaction, and seen by read-only ones. */
  storeRaw(offset: number, bytes: Uint8Array): void {
    this.txLock.acquire();
    try {
      this.prepareRawStore(); // its settle, if any, takes the lock again (it is re-entrant)
      this.snapshot.storeOutsideTransactions(() => this.pool.set(bytes, offset));
    } finally {
      this.txLock.release();
    }
  }

  /**
   * Commits in the core (one fence); on a durable pool, queues the commit's
   * record for the commit log. Returns the commit ID, or 0 for a redo
   * transaction that wrote nothing (it needs no commit).
   */
  commitTransaction(wait = true): bigint {
    if (this.concurrent && !lockConcurrentCommit(this, wait, () => (this.concurrent = false))) return 0n;
    this.assertRunning();
    try {
      return this.commitLocked();
    } finally {
      this.txLock.release();
    }
  }

  private commitLocked(): bigint {
    const id = this.core.tx_commit();
    const log = this.txLog;
    this.txLog = undefined;
    if (log === 'redo' && id !== 0n) this.unsettled = true;
    if (this.commitLog && id !== 0n) {
      // A group larger than the batch writes (and syncs) its first part; before the record is fetched,
      // since an undo record is staged in the scratch area, which a save (of a full log) also uses.
      if (!this.commitLog.hasRoomFor(this.scratch.length)) this.flushCommits();
      let source: number;
      let length: number;
      if (log === 'redo') {
        const at = this.core.redo_last_record();
        source = this.layout.poolBase + at;
        length = this.core.redo_record_length(at);
      } else {
        source = this.scratch.byteOffset;
        length = this.core.undo_last_record(source);
      }
      this.commitLog.append(source, length);
    }
    return id;
  }

  abortTransaction(): void {
    this.core.tx_abort();
    this.txLog = undefined;
    if (this.concurrent) this.concurrent = false;
    else this.txLock.release();
  }

  /** Writes queued commit records now (and fdatasyncs them unless sync is 'none'). */
  flushCommits(): void {
    if (!this.commitLog) return;
    if (this.commitLog.fits) this.commitLog.flush(this.sync === 'full');
    else this.save(); // the log is full: a new image takes its commits and the log starts over
  }

  /**
   * Resolves when every commit so far is durable. Commits issued in the same
   * turn of the event loop share one write and one fdatasync (group commit).
   */
  whenDurable(): Promise<void> {
    if (!this.commitLog?.hasPending) return Promise.resolve();
    this.groupCommit ??= Promise.resolve().then(() => {
      this.groupCommit = undefined;
      this.flushCommits();
    });
    return this.groupCommit;
  }

  heapStats(): HeapStats {
    return readHeapStats(this.core, this.memory);
  }

  /** The pool's persistent caches, newest first. */
  caches(): CacheSummary[] {
    return cacheSummaries(ownerReader(this.core, this.memory.buffer));
  }

  /**
   * Runs transaction recovery on the loaded image (in memory only, for a
   * read-only pool) and checks the allocator and every persistent cache.
   */
  checkStructures(): { badChunk: number | undefined; badCaches: Array<{ offset: number; invariant: number }> } {
    if (!this.readOnly) throw new InvalidArgumentError('checkStructures needs a read-only pool');
    recoverInMemory(this.core, this.device);
    const bad = Number(this.core.heap_check());
    const badCaches = [];
    for (let at = this.core.kv_next(0); at !== 0; at = this.core.kv_next(at)) {
      const invariant = this.core.kv_check(at);
      if (invariant !== 0) badCaches.push({ offset: at, invariant });
    }
    return { badChunk: bad === 0 ? undefined : bad - 1, badCaches };
  }

  /** Moves the core's dirty-page bits into the image store's pending sets. */
  private harvestDirty(): void {
    const pageCount = this.geometry.pageCount;
    const words = new Int32Array(
      this.memory.buffer,
      this.layout.poolBase + Number(this.core.pool_bitmap_offset()),
      Math.ceil(pageCount / 32),
    );
    const bits = new Uint32Array(words.length);
    for (let i = 0; i < words.length; i++) if (words[i] !== 0) bits[i] = Atomics.exchange(words, i, 0);
    this.image.markDirty(bits);
  }

  pendingBytes(): number {
    this.harvestDirty();
    return this.image.pendingPages() * PAGE_SIZE;
  }

  /** Saves the durable image: a delta segment on the newest image, or a full save into the older slot. */
  save(options: SaveOptions = {}): SaveReport {
    if (this.state === 'closed') throw new PoolClosedError();
    if (this.state === 'off') throw new PowerOffError();
    this.assertNoTransaction();
    // No attached worker's transaction may be half applied in the pages saved.
    this.txLock.acquire();
    try {
      this.harvestDirty();
      const report = this.image.save(this.device.durableImage(), options);
      this.device.recordSaved(report.savedBytes);
      // The image now holds every commit, including those still queued for the log.
      if (report.complete) this.commitLog?.reset(report.generation);
      return report;
    } finally {
      this.txLock.release();
    }
  }

  /** Throws EBUSY while worker threads are attached (the pool cannot close under them). */
  assertNoWorkers(): void {
    const attached = this.workerSlots.attached;
    if (attached > 0) throw new PmemError('EBUSY', `${attached} worker(s) are attached to the pool: detach them first`, { attached });
  }

  /** What a worker thread needs to attach to this pool (eadr and nvdimm-n pools). */
  workerHandle(): PoolHandle {
    this.assertRunning();
    if (this.readOnly) throw new PmemError('ENOTSUP', 'workers attach to writable pools only');
    if (this.personality === 'adr') {
      throw new PmemError('ENOTSUP', 'workers attach to eadr and nvdimm-n pools; an adr pool keeps its commit log and queues on its own thread');
    }
    return {
      memory: this.memory,
      poolSize: this.poolSize,
      dataOffset: this.dataStart,
      memoryEnd: NvdimmDevice.memoryBytes(this.personality, this.layout.poolBase, this.poolSize),
    };
  }

  quiesce(): void {
    if (this.state === 'running') this.state = 'quiesced';
  }

  /** Power is gone: memory is lost, and the machine holds the pool no longer. */
  powerOff(): void {
    if (this.state === 'running' || this.state === 'quiesced') {
      this.txLock.acquire(); // an attached worker's transaction finishes first
      this.ownerState.set('off');
      this.txLock.release();
    }
    this.state = 'off';
    this.snapshot.beginOutage();
    this.pool.fill(0);
    this.device.media?.fill(0);
    this.device.writeBackAll();
    this.releaseLock();
    this.releaseLock = () => {};
  }

  powerOn(): RestoreReport {
    if (this.state === 'closed') throw new PoolClosedError();
    if (this.state === 'off') this.releaseLock = this.store.lock();
    this.image.close();
    this.image = ImageStore.open(this.store, 'write', this.checksummer);
    this.lastRestore = this.loadAndRecover(undefined, true);
    this.snapshot.endOutage();
    return this.lastRestore;
  }

  /** Re-reads and verifies another image slot into the pool memory (read-only pools only). */
  verifySlot(slot: number, onProgress?: ProgressCallback): void {
    if (!this.readOnly) throw new InvalidArgumentError('verifySlot needs a read-only pool');
    this.image.verifySlot(slot, this.pool, onProgress);
  }

  /** Writes the loaded image as a new image file (read-only pools, whose memory is the image as loaded). */
  exportTo(store: BackingStore, options: { replace?: boolean } = {}): void {
    if (!this.readOnly) throw new InvalidArgumentError('exportTo needs a read-only pool');
    ImageStore.create(store, { ...this.geometry, createdAtMs: Date.now() }, this.pool, this.checksummer, options);
  }

  /** Clean shutdown: caches are written back, the clean flag is set and a final save is made. */
  close(): SaveReport | undefined {
    if (this.state === 'closed') return undefined;
    this.assertNoWorkers();
    let report: SaveReport | undefined;
    if (this.inTransaction) this.abortTransaction();
    if (this.state === 'running' || this.state === 'quiesced') {
      this.txLock.acquire();
      try {
        if (!this.readOnly) {
          this.core.tx_settle();
          this.unsettled = false;
          this.core.pool_set_clean_shutdown(1n);
          this.device.writeBackAll();
          report = this.save();
        }
        this.ownerState.set('closed');
      } finally {
        this.txLock.release();
      }
    }
    this.state = 'closed';
    this.image.close();
    this.commitLog?.close();
    this.releaseLock();
    return report;
  }
}
