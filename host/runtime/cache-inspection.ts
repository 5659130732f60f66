// Reads persistent caches (assembly/kv.ts) for inspection: the caches of a
// pool for `info`, and one cache's entry records for tests, the crash-state
// explorer and `Kv.entries()`.
import type { Core } from '../core/core.js';

export type CacheQueue = 'cold' | 'hot';

export interface CacheEntry {
  /** The integer key, or the 64-bit hash of a byte key. */
  key: bigint;
  /** 0 for an integer key, else the byte key's length (its bytes begin the value block). */
  keyLength: number;
  queue: CacheQueue;
  /** A copy of the value. */
  value: Uint8Array;
}

const QUEUES: Record<number, CacheQueue> = { 1: 'cold', 3: 'hot' };

/** A core instance, its memory, and the scratch area where that instance's core writes its answers. */
export interface CacheReader {
  readonly core: Core;
  readonly buffer: ArrayBufferLike;
  readonly scratchAt: number;
}

/** The reader of the owner's core instance (answers in the core's own scratch area). */
export function ownerReader(core: Core, buffer: ArrayBufferLike): CacheReader {
  return { core, buffer, scratchAt: core.SCRATCH_BASE.value };
}

/** Every entry of the cache at pool offset `offset`, in record order, as the committed state has it. */
export function* cacheEntries({ core, buffer: memory, scratchAt }: CacheReader, offset: number): Generator<CacheEntry> {
  const scratch = new DataView(memory, scratchAt, 24);
  const poolBase = core.POOL_BASE.value;
  for (let index = 1; ; index++) {
    const tag = core.kv_entry(offset, index);
    if (tag < 0) return;
    const queue = QUEUES[tag];
    if (!queue) continue;
    const keyLength = scratch.getUint32(16, true);
    const value = scratch.getUint32(8, true);
    const length = scratch.getUint32(12, true);
    const at = poolBase + value + keyLength;
    yield {
      key: scratch.getBigUint64(0, true),
      keyLength,
      queue,
      value: new Uint8Array(memory, at, length).slice(),
    };
  }
}

/** The ghost table of the cache at pool offset `offset`: each occupied slot and its word (a key's fingerprint and epoch). */
export function cacheGhosts(core: Core, offset: number): Array<[slot: number, word: number]> {
  const ghosts: Array<[number, number]> = [];
  for (let slot = 0; ; slot++) {
    const word = core.kv_ghost(offset, slot);
    if (word < 0) return ghosts;
    if (word !== 0) ghosts.push([slot, word]);
  }
}

/** A cache handle's counters, since it opened. */
export interface CacheCounters {
  hits: number;
  misses: number;
  sets: number;
  evictions: number;
  ghostHits: number;
  promotions: number;
  /** Hits on ARMED hot entries, which flipped them back to HOT. */
  softFaults: number;
  /** Debug: stores to cache metadata made by hits on hot entries (only soft faults make any). */
  hotHitStores: number;
}

/** What `kv_info` reports of a cache: its geometry, queue sizes and one handle's counters. */
export interface CacheInfo {
  /** Most entries now (a growing cache doubles it when full). */
  capacity: number;
  /** The capacity it was created with. */
  initialCapacity: number;
  /** Most entries it may grow to (its capacity, unless it grows). */
  maxCapacity: number;
  evict: 'two-phase' | 'none';
  rehash: 'incremental' | 'stop-the-world';
  buckets: number;
  /** Buckets of the table before the last doubling still to move to the new one (0 unless growing). */
  bucketsToMove: number;
  /** Entries in each queue now (ghost entries hold keys only). */
  cold: number;
  hot: number;
  ghost: number;
  counters: CacheCounters;
}

/** The cache at pool offset `at`, with the counters of the handle whose counters are at linear address `statsAt`. */
export function cacheInfo({ core, buffer, scratchAt }: CacheReader, at: number, statsAt: number): CacheInfo {
  core.kv_info(at, statsAt);
  const words = new BigUint64Array(buffer, scratchAt, 20);
  const n = (i: number) => Number(words[i]);
  const flags = n(15);
  return {
    capacity: n(0),
    initialCapacity: n(16),
    maxCapacity: n(17),
    evict: (flags & core.KV_EVICT_TWO_PHASE.value) !== 0 ? 'two-phase' : 'none',
    rehash: (flags & core.KV_REHASH_BLOCKING.value) !== 0 ? 'stop-the-world' : 'incremental',
    buckets: n(18),
    bucketsToMove: n(19),
    cold: n(4),
    hot: n(5),
    ghost: n(6),
    counters: {
      hits: n(7), misses: n(8), sets: n(9), evictions: n(10), ghostHits: n(11), promotions: n(12), softFaults: n(13), hotHitStores: n(14),
    },
  };
}

export type CacheSummary = Omit<CacheInfo, 'counters'> & {
  name: string;
  /** Pool offset of the cache's block. */
  offset: number;
};

/** Every cache in the pool, newest first. */
export function cacheSummaries(reader: CacheReader): CacheSummary[] {
  const { core, buffer, scratchAt } = reader;
  const summaries: CacheSummary[] = [];
  for (let at = core.kv_next(0); at !== 0; at = core.kv_next(at)) {
    const nameLength = core.kv_name(at);
    const name = new TextDecoder().decode(new Uint8Array(buffer, scratchAt, nameLength).slice());
    // Geometry and queues only: the counters are those of whichever handle holds the first stats block.
    const { counters: _, ...geometry } = cacheInfo(reader, at, core.KV_STATS_ADDRESS.value);
    summaries.push({ name, offset: at, ...geometry });
  }
  return summaries;
}
