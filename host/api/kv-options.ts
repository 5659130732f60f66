// The options of `pool.kv(name, options)`: checked once, turned into the core's
// creation flags, and compared with an existing cache's geometry on reopening.
import { InvalidArgumentError } from '../errors.js';
import type { Core } from '../core/core.js';
import type { CacheInfo } from '../runtime/cache-inspection.js';

export type KvEvict = CacheInfo['evict'];
export type KvRehash = CacheInfo['rehash'];

export interface KvOptions {
  /** Most entries the cache holds at once (at first, for a growing cache); required to create it. */
  capacity?: number;
  /** 'two-phase' (the default) evicts by the cold/ghost/hot policy; 'none' never evicts and a set into a full cache fails. */
  evict?: KvEvict;
  /**
   * A cache that does not evict grows up to this many entries: when it is full, a set
   * doubles its capacity and its buckets. Default: `capacity` (no growth).
   */
  maxCapacity?: number;
  /**
   * How a growing cache moves its buckets into the doubled table: 'incremental' (the
   * default) a few inside each set, while lookups read both tables; 'stop-the-world'
   * all of them right after the set that grew it (the baseline `bench/concurrency` measures).
   */
  rehash?: KvRehash;
  /**
   * The seed of the bucket hash, an integer in 1..2^32 - 1, taken when the cache is
   * created (not compared with an existing cache's): by default a random one. Give one only to make runs repeat exactly
   * (tests, benchmarks): whoever knows it can choose keys that share one bucket.
   */
  hashSeed?: number;
}

/** The options as given (an option not given matches any existing cache). */
export interface ParsedKvOptions {
  capacity: number | undefined;
  maxCapacity: number | undefined;
  evict: KvEvict | undefined;
  rehash: KvRehash | undefined;
  hashSeed: number | undefined;
}

export const MAX_CACHE_CAPACITY = 1 << 24;

function checkCapacity(name: string, value: number | undefined, min: number): void {
  if (value !== undefined && (!Number.isInteger(value) || value < min || value > MAX_CACHE_CAPACITY)) {
    throw new InvalidArgumentError(`${name} must be an integer in ${min}..${MAX_CACHE_CAPACITY}`, { [name]: value });
  }
}

export function parseKvOptions(options: KvOptions, core: Core): ParsedKvOptions {
  const { evict, rehash } = options;
  if (evict !== undefined && evict !== 'two-phase' && evict !== 'none') {
    throw new InvalidArgumentError(`evict must be 'two-phase' or 'none'; got ${String(evict)}`);
  }
  if (rehash !== undefined && rehash !== 'incremental' && rehash !== 'stop-the-world') {
    throw new InvalidArgumentError(`rehash must be 'incremental' or 'stop-the-world'; got ${String(rehash)}`);
  }
  const { capacity, maxCapacity, hashSeed } = options;
  if (hashSeed !== undefined && (!Number.isInteger(hashSeed) || hashSeed < 1 || hashSeed > 0xffffffff)) {
    throw new InvalidArgumentError('hashSeed must be an integer in 1..2^32 - 1', { hashSeed });
  }
  checkCapacity('capacity', capacity, 2);
  checkCapacity('maxCapacity', maxCapacity, 2);
  if (maxCapacity !== undefined && capacity !== undefined && maxCapacity > capacity) {
    if (evict !== 'none') throw new InvalidArgumentError("only a cache that does not evict grows: give evict: 'none' with maxCapacity");
    // Each doubling adds one segment of entry records.
    const doublings = Math.ceil(Math.log2(maxCapacity / capacity));
    const most = core.KV_MAX_SEGMENTS.value - 1;
    if (doublings > most) throw new InvalidArgumentError(`a cache grows at most ${most} times: maxCapacity is at most capacity * ${2 ** most}`, { maxCapacity });
  } else if (maxCapacity !== undefined && capacity !== undefined && maxCapacity < capacity) {
    throw new InvalidArgumentError('maxCapacity must not be below capacity', { capacity, maxCapacity });
  }
  return { capacity, maxCapacity, evict, rehash, hashSeed };
}

/** Throws unless `options` make sense for a new cache: a rehash mode only for one that grows. */
export function checkCreatable(options: ParsedKvOptions): void {
  const { capacity, maxCapacity, rehash } = options;
  if (rehash !== undefined && !(capacity !== undefined && maxCapacity !== undefined && maxCapacity > capacity)) {
    throw new InvalidArgumentError('rehash applies only to a cache that grows: give maxCapacity above capacity', { rehash });
  }
}

/** The core's creation flags for `options` (by default two-phase eviction and incremental rehashing). */
export function creationFlags(options: ParsedKvOptions, core: Core): number {
  return ((options.evict ?? 'two-phase') === 'two-phase' ? core.KV_EVICT_TWO_PHASE.value : 0)
    | (options.rehash === 'stop-the-world' ? core.KV_REHASH_BLOCKING.value : 0);
}

/** A new cache's bucket-hash seed: the one asked for, else random, so that keys sharing one bucket cannot be chosen ahead; never 0 (unkeyed). */
export function hashSeedFor(options: ParsedKvOptions): number {
  return options.hashSeed ?? (crypto.getRandomValues(new Uint32Array(1))[0] || 1);
}

/** Throws unless an existing cache `name`, described by `info`, is what `options` ask for (where they ask). */
export function checkMatches(name: string, info: CacheInfo, options: ParsedKvOptions): void {
  const { capacity, maxCapacity, evict, rehash } = options;
  const differs = (capacity !== undefined && info.initialCapacity !== capacity)
    || (maxCapacity !== undefined && info.maxCapacity !== maxCapacity)
    || (evict !== undefined && info.evict !== evict) || (rehash !== undefined && info.rehash !== rehash);
  if (differs) {
    throw new InvalidArgumentError(
      `cache ${name} exists with capacity ${info.initialCapacity}, maxCapacity ${info.maxCapacity}, evict '${info.evict}' and rehash '${info.rehash}'`,
    );
  }
}
