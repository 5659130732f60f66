// A persistent cache in a pool (assembly/kv.ts): get, set, has, delete, stats,
// and batch forms over typed arrays. Every set and delete is a redo
// transaction, durable when it returns under the pool's device and sync
// setting (like `txSync`), so the cache reopens warm and valid after any crash.
import { CacheFullError, InvalidArgumentError, NoSpaceError, PmemError, SizeLimitError, TransactionTooLargeError } from '../errors.js';
import {
  type CacheCounters, type CacheEntry, type CacheInfo, type CacheReader, cacheEntries, cacheGhosts, cacheInfo,
} from '../runtime/cache-inspection.js';
import type { TransactionHost } from '../runtime/transaction-host.js';
import type { KvEvict } from './kv-options.js';
import { decode, encodeInto } from './shared-text.js';

/** The thread a cache handle runs on: the pool's owner, or a worker attached to it. */
export interface KvHost extends TransactionHost {
  readonly memory: WebAssembly.Memory;
  /** Makes the commits so far durable (a durable pool's commit log); nothing to do elsewhere. */
  flushCommits(): void;
}

export type KvKey = number | string | Uint8Array;
export type KvValue = Uint8Array | string;

/** A cache's size and queues now, and its handle's counters since it opened. */
export type KvStats = Omit<CacheInfo, 'evict' | 'rehash' | 'counters'> & CacheCounters;

/** Result of `getMany`: value i is `values[i * stride, i * stride + min(lengths[i], stride))`, or a miss when `lengths[i]` is -1. */
export interface KvBatch {
  lengths: Int32Array;
  values: Uint8Array;
  stride: number;
}

export const KV_MAX_KEY_BYTES = 256;
export const KV_MAX_VALUE_BYTES = 8192;
export const KV_MAX_NAME_BYTES = 64;
const STATUS_TOO_LARGE = -3;
const STATUS_NO_SPACE = -4;
// Scratch layout for single operations: key bytes, the core's key-compare area and fence word, then the value.
const KEY_AT = 0;
const VALUE_AT = 1024;
/** The longest value `getInto` copies byte by byte. */
const SHORT_COPY = 64;
/** Sets staged for one transaction of `setMany` (SETS_PER_TRANSACTION in assembly/kv.ts). */
const SET_STAGE = 4;
/**
 * Buckets one transaction of a stop-the-world rehash moves. A transaction's
 * reads of lines it wrote walk its journal, so fuller ones cost more: moving
 * 1 M buckets took 3.4 s filling the journal, 0.69 s at 512 a transaction,
 * 0.28 to 0.32 s at 16 to 128.
 */
const BUCKETS_PER_MOVE = 64;


/**
 * Looks up the cache named `name` with `host`'s core: its pool offset (0 if the
 * pool has none) and the name's bytes. `openHandles`: the handles the thread
 * has open already, each with its own counters (at most KV_STATS_SLOTS).
 */
export function findCache(host: KvHost, name: unknown, openHandles: number): { offset: number; nameBytes: Uint8Array } {
  if (typeof name !== 'string' || name === '') throw new InvalidArgumentError('a cache needs a name');
  const slots = host.core.KV_STATS_SLOTS.value;
  if (openHandles >= slots) throw new InvalidArgumentError(`at most ${slots} caches can be open on one pool`);
  const nameBytes = new TextEncoder().encode(name);
  if (nameBytes.length > KV_MAX_NAME_BYTES) throw new SizeLimitError('cache name', KV_MAX_NAME_BYTES);
  host.scratch.set(nameBytes);
  const offset = host.core.kv_find(nameBytes.length);
  if (offset !== 0 && !host.core.kv_current(offset)) {
    throw new PmemError('EOLDFORMAT', `cache ${name} was made by an older build of wasm-pmem, in a format this one cannot read`, { name });
  }
  return { offset, nameBytes };
}

function keyError(key: unknown): PmemError {
  return new InvalidArgumentError('a key is a non-negative safe integer, a string or a Uint8Array', { key: String(key) });
}

export class Kv {
  private readonly scratch: Uint8Array;
  private readonly scratchAt: number;
  /** Whether a growing cache moves all its buckets at once ('stop-the-world' rehash). */
  private readonly stopTheWorld: boolean;

  constructor(
    private readonly runtime: KvHost,
    /** Pool offset of the cache's block. */
    readonly offset: number,
    /** Linear address of this handle's counters (the core's 64-byte stats block). */
    private readonly statsAt: number,
    readonly name: string,
  ) {
    this.scratch = runtime.scratch;
    this.scratchAt = runtime.scratch.byteOffset;
    this.stopTheWorld = this.info().rehash === 'stop-the-world';
  }

  /** The value of `key` (a copy), or undefined on a miss. A hit on a hot entry stores nothing. */
  get(key: KvKey): Uint8Array | undefined {
    const length = this.lookup(key, true);
    return length < 0 ? undefined : this.scratch.slice(VALUE_AT, VALUE_AT + length);
  }

  /**
   * `get` into `target`, without allocating: copies the first `target.length` bytes
   * of the value of `key` (all of it when it fits) and returns the value's length,
   * or -1 on a miss. For hot loops where a new `Uint8Array` per hit would dominate.
   */
  getInto(key: KvKey, target: Uint8Array): number {
    if (!(target instanceof Uint8Array)) throw new InvalidArgumentError('target must be a Uint8Array');
    const length = this.lookup(key, true);
    const n = Math.min(length, target.length);
    if (n > SHORT_COPY) target.set(this.scratch.subarray(VALUE_AT, VALUE_AT + n));
    // Short values byte by byte: a subarray to copy from is itself an allocation.
    else for (let i = 0; i < n; i++) target[i] = this.scratch[VALUE_AT + i];
    return length;
  }

  /** `get`, decoded as UTF-8. */
  getString(key: KvKey): string | undefined {
    const length = this.lookup(key, true);
    return length < 0 ? undefined : decode(this.scratch.subarray(VALUE_AT, VALUE_AT + length));
  }

  /** Whether `key` holds a value; unlike `get`, it counts nothing and changes no hint. */
  has(key: KvKey): boolean {
    return this.lookup(key, false) >= 0;
  }

  /** Stores `value` under `key`, evicting by the policy when the cache is full. */
  set(key: KvKey, value: KvValue): void {
    const length = this.stageValue(value, VALUE_AT);
    this.transaction(length, true, () =>
      typeof key === 'number'
        ? this.runtime.core.kv_set_num(this.offset, this.statsAt, this.numberKey(key), this.scratchAt + VALUE_AT, length)
        : this.runtime.core.kv_set_bytes(this.offset, this.statsAt, this.scratchAt, this.stageKey(key), this.scratchAt + VALUE_AT, length),
    );
    if (this.stopTheWorld) this.moveAllBuckets();
  }

  /**
   * A stop-the-world rehash: after a set doubled the buckets, every bucket moves
   * now, in as many transactions as the journal needs, before the set returns.
   */
  private moveAllBuckets(): void {
    const { core } = this.runtime;
    if (core.kv_buckets_left(this.offset) === 0) return;
    while (this.transaction(0, false, () => Number(core.kv_migrate(this.offset, this.statsAt, BUCKETS_PER_MOVE))) > 0);
    this.runtime.flushCommits();
  }

  /** Removes `key`; returns whether it held a value. */
  delete(key: KvKey): boolean {
    const status = this.transaction(0, true, () =>
      typeof key === 'number'
        ? this.runtime.core.kv_delete_num(this.offset, this.statsAt, this.numberKey(key))
        : this.runtime.core.kv_delete_bytes(this.offset, this.statsAt, this.scratchAt, this.stageKey(key)),
    );
    return status === 1;
  }

  /** Looks up integer keys in one call into the core; copies at most `stride` bytes of each value. */
  getMany(keys: ArrayLike<number>, stride = 64): KvBatch {
    this.runtime.assertRunning();
    this.checkStride(stride);
    const n = keys.length;
    const lengths = new Int32Array(n);
    const values = new Uint8Array(n * stride);
    const chunk = this.batchChunk(stride);
    const { keyView, lengthView, valuesAt } = this.batchViews(chunk, stride);
    for (let done = 0; done < n; done += chunk) {
      const m = Math.min(chunk, n - done);
      for (let i = 0; i < m; i++) keyView[i] = this.numberKey(keys[done + i]);
      this.runtime.core.kv_get_many_num(this.offset, this.statsAt, keyView.byteOffset, m, lengthView.byteOffset, this.scratchAt + valuesAt, stride);
      lengths.set(lengthView.subarray(0, m), done);
      values.set(this.scratch.subarray(valuesAt, valuesAt + m * stride), done * stride);
    }
    return { lengths, values, stride };
  }

  /**
   * Sets integer keys: value i is `values[i * stride, i * stride + lengths[i])`
   * (`stride` bytes when `lengths` is omitted). The sets commit in as few
   * transactions as their journal allows.
   */
  setMany(keys: ArrayLike<number>, values: Uint8Array, stride: number, lengths?: ArrayLike<number>): void {
    this.runtime.assertRunning();
    this.checkStride(stride);
    const n = keys.length;
    if (!(values instanceof Uint8Array) || values.length < n * stride) {
      throw new InvalidArgumentError('values must be a Uint8Array of keys.length * stride bytes');
    }
    for (let i = 0; i < n; i++) {
      this.numberKey(keys[i]);
      const length = lengths ? lengths[i] : stride;
      if (!Number.isInteger(length) || length < 0 || length > stride) throw new InvalidArgumentError('each length must be within 0..stride');
    }
    // Staged afresh for every transaction: committing one may save an image (a full commit log),
    // and a save uses the scratch area too.
    const chunk = Math.min(this.batchChunk(stride), SET_STAGE);
    const { keyView, lengthView, valuesAt } = this.batchViews(chunk, stride);
    try {
      for (let done = 0; done < n; ) {
        const m = Math.min(chunk, n - done);
        for (let i = 0; i < m; i++) {
          keyView[i] = keys[done + i];
          lengthView[i] = lengths ? lengths[done + i] : stride;
        }
        this.scratch.set(values.subarray(done * stride, (done + m) * stride), valuesAt);
        done += this.transaction(stride, false, () =>
          this.runtime.core.kv_set_many_num(this.offset, this.statsAt, keyView.byteOffset, m, lengthView.byteOffset, this.scratchAt + valuesAt, stride),
        );
        if (this.stopTheWorld) this.moveAllBuckets();
      }
    } finally {
      this.runtime.flushCommits(); // the batch's commits reach a durable pool's log in one write and one fdatasync
    }
  }

  /** The eviction policy the cache was created with. */
  get evict(): KvEvict {
    return this.info().evict;
  }

  stats(): KvStats {
    const { evict: _evict, rehash: _rehash, counters, ...geometry } = this.info();
    return { ...geometry, ...counters };
  }

  /** The cache's geometry, policy, queues and this handle's counters. */
  info(): CacheInfo {
    this.runtime.assertRunning();
    return cacheInfo(this.reader(), this.offset, this.statsAt);
  }

  /** Every resident entry, for inspection (the ghost keeps fingerprints of keys, not entries). */
  entries(): CacheEntry[] {
    this.runtime.assertRunning();
    return [...cacheEntries(this.reader(), this.offset)];
  }

  /** The ghost's occupied slots and what each holds (a 12-bit key fingerprint over the 4-bit epoch the key left cold in), for inspection. */
  ghosts(): Array<[slot: number, word: number]> {
    this.runtime.assertRunning();
    return cacheGhosts(this.runtime.core, this.offset);
  }

  private reader(): CacheReader {
    return { core: this.runtime.core, buffer: this.runtime.memory.buffer, scratchAt: this.scratchAt };
  }

  /** Checks the cache's invariants on its committed state; throws ECORRUPT with the failed invariant. */
  check(): void {
    this.runtime.assertRunning();
    const failed = this.runtime.core.kv_check(this.offset);
    if (failed !== 0) throw new PmemError('ECORRUPT', `cache ${this.name} fails invariant ${failed}`, { invariant: failed });
  }

  private lookup(key: KvKey, touch: boolean): number {
    this.runtime.assertRunning();
    const { core } = this.runtime;
    const room = touch ? this.scratch.length - VALUE_AT : 0;
    const dst = this.scratchAt + VALUE_AT;
    return typeof key === 'number'
      ? core.kv_get_num(this.offset, this.statsAt, this.numberKey(key), dst, room, touch)
      : core.kv_get_bytes(this.offset, this.statsAt, this.scratchAt, this.stageKey(key), dst, room, touch);
  }

  /**
   * Runs one core operation in its own redo transaction; returns its non-negative
   * result. `bytes`: the value size, for ENOSPC. With `flush`, the commit is
   * durable on return (on a durable pool, written and synced to its log).
   */
  private transaction(bytes: number, flush: boolean, operation: () => number): number {
    this.runtime.beginTransaction('redo');
    let status: number;
    try {
      status = operation();
    } catch (error) {
      this.runtime.abortTransaction();
      throw error;
    }
    // A set that found no room for its value still made valid evictions: they commit.
    if (status >= 0 || status === STATUS_NO_SPACE) {
      this.runtime.commitTransaction();
      if (flush) this.runtime.flushCommits();
    } else {
      this.runtime.abortTransaction();
    }
    if (status >= 0) return status;
    if (status === STATUS_NO_SPACE) throw new NoSpaceError(bytes);
    // A growing cache's bucket move that does not fit the journal (a chain longer than a journal holds).
    if (status === STATUS_TOO_LARGE) throw new TransactionTooLargeError({ size: bytes });
    if (status === this.runtime.core.KV_ERR_FULL.value) throw new CacheFullError(this.name);
    throw new PmemError('EINTERNAL', `cache operation failed with status ${status}`);
  }

  private numberKey(key: number): number {
    if (!Number.isSafeInteger(key) || key < 0) throw keyError(key);
    return key;
  }

  /** Copies a string or byte key to the scratch area; returns its length. */
  private stageKey(key: KvKey): number {
    let length: number;
    if (typeof key === 'string') {
      const { read, written } = encodeInto(key, this.scratch.subarray(KEY_AT, KEY_AT + KV_MAX_KEY_BYTES + 1));
      if (read < key.length || written > KV_MAX_KEY_BYTES) throw new SizeLimitError('key', KV_MAX_KEY_BYTES);
      length = written;
    } else if (key instanceof Uint8Array) {
      if (key.length > KV_MAX_KEY_BYTES) throw new SizeLimitError('key', KV_MAX_KEY_BYTES);
      this.scratch.set(key, KEY_AT);
      length = key.length;
    } else {
      throw keyError(key);
    }
    if (length === 0) throw new InvalidArgumentError('a key must not be empty');
    return length;
  }

  /** Copies a value to the scratch area at `at`; returns its length. */
  private stageValue(value: KvValue, at: number): number {
    if (typeof value === 'string') {
      const { read, written } = encodeInto(value, this.scratch.subarray(at, at + KV_MAX_VALUE_BYTES + 1));
      if (read < value.length || written > KV_MAX_VALUE_BYTES) throw new SizeLimitError('value', KV_MAX_VALUE_BYTES);
      return written;
    }
    if (!(value instanceof Uint8Array)) throw new InvalidArgumentError('a value is a Uint8Array or a string');
    if (value.length > KV_MAX_VALUE_BYTES) throw new SizeLimitError('value', KV_MAX_VALUE_BYTES);
    this.scratch.set(value, at);
    return value.length;
  }

  private checkStride(stride: number): void {
    if (!Number.isInteger(stride) || stride < 1 || stride > KV_MAX_VALUE_BYTES) {
      throw new InvalidArgumentError(`stride must be an integer in 1..${KV_MAX_VALUE_BYTES}`);
    }
  }

  /** Keys per call into the core so that keys, lengths and values fit the scratch area. */
  private batchChunk(stride: number): number {
    return Math.min(4096, Math.floor(this.scratch.length / (12 + stride)));
  }

  private batchViews(chunk: number, stride: number) {
    const keyView = new Float64Array(this.scratch.buffer, this.scratchAt, chunk);
    const lengthView = new Int32Array(this.scratch.buffer, this.scratchAt + chunk * 8, chunk);
    const valuesAt = chunk * 12;
    if (valuesAt + chunk * stride > this.scratch.length) throw new InvalidArgumentError('stride too large for a batch');
    return { keyView, lengthView, valuesAt };
  }
}
