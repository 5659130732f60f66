// The persistent cache: a hash table whose entries live in three queues, after
// the cold/ghost/hot design of patents.md sections 1 and 2.
//
// - New keys enter the cold FIFO. An entry leaving cold that was hit while
//   there moves to the hot ring; otherwise its value and record are freed and
//   its key's 12-bit fingerprint stays behind in the ghost table, with the
//   epoch it left in.
// - A set of a key whose fingerprint the ghost holds promotes it into the hot
//   ring: always if it left cold recently (this epoch or the last: within
//   0.75 to 1.5 capacities of keys leaving), one time in 8 if longer ago.
//   The ghost is direct-mapped: a newer key's fingerprint replaces an older
//   one in its slot, so the ghost forgets keys after about as many evictions
//   as it has slots, and a fingerprint match by chance (1 in 4095) only
//   promotes a key early.
// - The hot ring is swept by a clock hand in two phases: the hand arms an entry
//   (state ARMED) and evicts it only if it is still armed a revolution later.
//   A hit on a HOT entry performs no store and takes no lock; a hit on an ARMED
//   entry flips it back to HOT (a soft fault, the patent's trap).
// - Cold may use the hot ring's unused share of the capacity, so a cache that
//   has seen no reuse yet is still a full FIFO.
//
// A cache that does not evict may grow (`maxCapacity`): when it is full, a set
// doubles its capacity with a new segment of entry records, and doubles the
// buckets into a new table. The old table's buckets then move to the new one a
// few at a time, inside later sets (or all at once, KV_REHASH_BLOCKING, the
// stop-the-world baseline), while lookups read whichever table holds their
// bucket: the old one until the bucket has moved, the new one after.
//
// Every structural change (bucket chains, entry records, ring slots, ghost
// slots, the queue state words, value blocks) goes through the open redo
// transaction, so after any crash the cache is exactly as the last commit left
// it. Hints that no invariant depends on (the cold "hit" flag, HOT/ARMED
// states, bucket lock words) are plain stores.
import { load32, load64, loadFence } from "./atomics";
import { copyBytes } from "./bytes";
import { heap_alloc, heap_free, heapSameSlot } from "./heap";
import { redoRoom } from "./journal";
import {
  APPLY_SEQUENCE_ADDRESS, CTL_META_OFFSET, CTL_POOL_SIZE,
  META_KV_DIRECTORY, TX_ERR_NO_SPACE, TX_ERR_TOO_LARGE, TX_OK, ctl, poolAddr, scratch, staging,
} from "./layout";
import { pm_flush, pm_mark_dirty } from "./persist";
import { txLoad32, txLoad64, txRead, txStore64, txWrite } from "./tx";
import { xxh64 } from "./xxhash64";

// Policy constants, chosen on the public traces (see docs/cache.md).
const COLD_PERCENT: u32 = 11; // cold's own share of the capacity
const GHOST_PERCENT: u32 = 500; // ghost slots, as a share of the capacity
/** Keys leaving cold in one ghost epoch, as a share of the capacity. */
const EPOCH_PERCENT: u32 = 75;
/** A ghost hit on a key that left cold fewer epochs ago than this promotes it; an older one, one time in OLD_ADMIT_EVERY. */
const RECENT_EPOCHS: u32 = 2;
const OLD_ADMIT_EVERY: u32 = 8;
/**
 * Journal bytes a set keeps in reserve besides its key and value: the
 * evictions it must still make. Cold entries hit while cold move to hot only
 * while the journal has more room than that; past it, cold evicts regardless.
 */
const SET_JOURNAL_BYTES: u32 = 2048;
/**
 * Sets one transaction of a batch takes at most. Fewer commits mean fewer
 * fences, but a larger record to seal and apply. When reads of lines the
 * transaction wrote walked its whole journal, 16 cost nearly twice what 4 did;
 * now that they find the newest entry first, 4, 8 and 16 measure alike
 * (bench/cache's batched workload at 100 k entries), and 4 keeps records small.
 */
const SETS_PER_TRANSACTION: u32 = 4;
/**
 * Old buckets a set of a new key moves while the cache grows, at least; it
 * moves more when the buckets left outnumber the entries that still fit, so the
 * move always ends by the time the cache is full again. The fewer a set moves,
 * the less any one set pays: a bucket costs about 0.35 us, a set about 0.9 us.
 */
const MIGRATE_STEP: u32 = 1;

export const KV_MAX_KEY: u32 = 256;
export const KV_MAX_VALUE: u32 = 8192;
export const KV_MAX_NAME: u32 = 64;
export const KV_EVICT_TWO_PHASE: u32 = 1;
/** A growing cache's sets move no buckets: the host moves them all (kv_migrate) right after the set that doubled it. */
export const KV_REHASH_BLOCKING: u32 = 2;
/** Entry-record segments a cache may have: the first, in its block, and one per doubling. */
export const KV_MAX_SEGMENTS: u32 = 16;
export const KV_STATS_SLOTS: u32 = 16;
/** Bytes of one handle's counters: the owner's KV_STATS_SLOTS blocks start at KV_STATS_ADDRESS. */
export const KV_STATS_BYTES: u32 = 64;
/** Status of a set into a full cache that does not evict. */
export const KV_ERR_FULL: i32 = -7;

// The cache's block: header, entry records, cold ring, hot ring, ghost table, hot states. The bucket
// table and the entry records added by growth are blocks of their own.
const KV_MAGIC: u32 = 0x3543564b; // "KVC5": records of ENTRY_HEAD + INLINE_BYTES bytes
const KV_MAGIC_KEYED: u32 = 0x3443564b; // "KVC4": records of ENTRY_HEAD bytes, no value kept in one
const KV_MAGIC_UNSEEDED: u32 = 0x3343564b; // "KVC3": as KVC4, made before the seed, so its seed word is 0 (unkeyed)
const H_MAGIC: u32 = 0;
const H_FLAGS: u32 = 4;
const H_CAPACITY: u32 = 8;
const H_COLD_TARGET: u32 = 12;
const H_HOT_SLOTS: u32 = 16;
const H_GHOST_SLOTS: u32 = 20;
const H_BUCKETS: u32 = 24; // buckets of the current table
const H_ENTRIES: u32 = 28; // records in the first segment: the capacity the cache was created with
const H_NEXT: u32 = 32; // next cache in the pool's directory
const H_NAME_LENGTH: u32 = 36;
const H_NAME: u32 = 40;
const H_MAX_CAPACITY: u32 = 104;
const H_TABLE: u32 = 108; // pool offset of the current bucket table
const H_OLD_TABLE: u32 = 112; // the table being moved out of while the cache grows, else 0
const H_MIGRATED: u32 = 116; // buckets of the old table moved so far
const H_GENERATION: u32 = 120; // counts the commits that changed the geometry (capacity, tables, buckets moved)
const H_HASH_SEED: u32 = 124; // u32 drawn at random when the cache is made: keys the bucket hash (0 in older caches: unkeyed)
const H_STATE: u32 = 128; // the queue state words: one line, read and written once per operation
const H_SEGMENTS: u32 = 192; // u32 pool offsets of the entry-record segments after the first
const HEADER_SIZE: u32 = 256;

// Queue state words (u32), kept in work() during an operation.
const S_COLD_HEAD: u32 = 0;
const S_COLD_USED: u32 = 4; // ring slots in use, holes left by deletes included
const S_COLD_COUNT: u32 = 8;
const S_GHOST_COUNT: u32 = 12; // ghost slots holding a fingerprint
const S_HAND: u32 = 16;
const S_HOT_COUNT: u32 = 20;
const S_FREE: u32 = 24; // free entry records, linked through E_NEXT (index + 1)
const S_FRESH: u32 = 28; // records ever used
const S_FILL: u32 = 32; // where the search for an empty hot slot starts
const S_LEFT_COLD: u32 = 36; // keys that left cold for the ghost (its epochs count them)
const S_OLD_HITS: u32 = 40; // ghost hits on keys older than RECENT_EPOCHS
const STATE_SIZE: u32 = 44;
// This thread's staging area (after tx.ts's word): the queue state words, and one entry record staged for a transactional write.
@inline function work(): usize {
  return staging() + 64;
}
@inline function keySlot(): usize {
  return staging() + 128;
}

const BUCKET_SIZE: u32 = 8; // u32 lock word, u32 first entry (index + 1)
/** A record's fields. In caches of this format INLINE_BYTES more follow them. */
const ENTRY_HEAD: u32 = 24;
/**
 * A value block (key bytes, then value) of at most this many bytes is kept in
 * the record itself, whose E_VALUE then points at its own bytes past the head:
 * a lookup of a small value reads no block (one cache miss fewer in a large
 * cache), and a set of one allocates none.
 */
const INLINE_BYTES: u32 = 16;
const E_KEY: u32 = 0; // u64: the integer key, or the hash of a byte key
const E_NEXT: u32 = 8;
const E_VALUE: u32 = 12; // pool offset of the value block (key bytes, then value bytes): in the record when it fits
const E_POS: u32 = 16; // u32: slot in the entry's ring (low 24 bits); a byte key's length - 1 (high 8 bits)
const E_TAG: u32 = 20; // u8: queue tag, and TAG_BYTE_KEY
const E_FLAGS: u32 = 21; // u8 hint: hit while cold
const E_LENGTH: u32 = 22; // u16: value bytes
const POS_MASK: u32 = 0xffffff; // capacities stay below 2^24 (the host checks)

const TAG_FREE: u8 = 0;
const TAG_COLD: u8 = 1;
const TAG_HOT: u8 = 3;
const TAG_QUEUE: u8 = 3;
const TAG_BYTE_KEY: u8 = 4;
const FLAG_HIT: u8 = 1;
const STATE_HOT: u8 = 1;
const STATE_ARMED: u8 = 2;

// Statistics: u64 counters per open handle, volatile.
const ST_HITS: u32 = 0;
const ST_MISSES: u32 = 8;
const ST_SETS: u32 = 16;
const ST_EVICTIONS: u32 = 24;
const ST_GHOST_HITS: u32 = 32;
const ST_PROMOTIONS: u32 = 40;
const ST_SOFT_FAULTS: u32 = 48;
const ST_HOT_HIT_STORES: u32 = 56; // debug: stores made by hits on hot entries
const STATS_SIZE: u32 = KV_STATS_BYTES;

// The cache being operated on, and its geometry (set by `use`).
let kv: u32 = 0;
let stats: usize = 0;
let capacity: u32 = 0;
let coldTarget: u32 = 0;
let hotSlots: u32 = 0;
let ghostSlots: u32 = 0;
let maxCapacity: u32 = 0;
let bucketMask: u32 = 0;
let bucketsAt: u32 = 0;
/** While the cache grows: the old table, its mask, and how many of its buckets have moved. */
let oldBucketsAt: u32 = 0;
let oldMask: u32 = 0;
let migrated: u32 = 0;
let generation: u32 = 0;
/** The bucket hash's key, from the cache's seed. */
let hashKey: u64 = 0;
let blockingRehash = false;
let firstEntries: u32 = 0;
/** A segment added by the open transaction, not yet in place in the header (index 0: none). */
let addedSegment: u32 = 0;
let addedSegmentAt: u32 = 0;
let entriesAt: u32 = 0;
let coldAt: u32 = 0;
let ghostAt: u32 = 0;
let hotAt: u32 = 0;
let statesAt: u32 = 0;
let twoPhase = false;
/** Value block bytes the cache's records hold (0 in the formats before KVC5), and so the records' size. */
let inlineRoom: u32 = INLINE_BYTES;
let entrySize: u32 = ENTRY_HEAD + INLINE_BYTES;
/** Journal bytes the running set must keep for its own value and final evictions. */
let reserve: u32 = 0;

function blockSize(cap: u32, ghosts: u32, hot: u32): u32 {
  const coldSlots = twoPhase ? cap : 0;
  return HEADER_SIZE + cap * entrySize + (coldSlots + hot) * 4 + ghosts * 2 + hot;
}

function use(at: u32, statsAt: usize): void {
  stateDeferred = false; // a trap may have ended a batch before its end
  kv = at;
  stats = statsAt;
  const base = poolAddr(at);
  inlineRoom = load<u32>(base + H_MAGIC) == KV_MAGIC ? INLINE_BYTES : 0;
  entrySize = ENTRY_HEAD + inlineRoom;
  capacity = load<u32>(base + H_CAPACITY);
  maxCapacity = load<u32>(base + H_MAX_CAPACITY);
  coldTarget = load<u32>(base + H_COLD_TARGET);
  hotSlots = load<u32>(base + H_HOT_SLOTS);
  ghostSlots = load<u32>(base + H_GHOST_SLOTS);
  const buckets = load<u32>(base + H_BUCKETS);
  bucketMask = buckets - 1;
  const flags = load<u32>(base + H_FLAGS);
  twoPhase = (flags & KV_EVICT_TWO_PHASE) != 0;
  blockingRehash = (flags & KV_REHASH_BLOCKING) != 0;
  bucketsAt = load<u32>(base + H_TABLE);
  oldBucketsAt = load<u32>(base + H_OLD_TABLE);
  oldMask = (buckets >> 1) - 1;
  migrated = load<u32>(base + H_MIGRATED);
  generation = load<u32>(base + H_GENERATION);
  hashKey = <u64>load<u32>(base + H_HASH_SEED) * 0x9e3779b97f4a7c15;
  addedSegment = 0;
  firstEntries = load<u32>(base + H_ENTRIES);
  entriesAt = at + HEADER_SIZE;
  coldAt = entriesAt + firstEntries * entrySize;
  hotAt = coldAt + (twoPhase ? capacity * 4 : 0);
  ghostAt = hotAt + hotSlots * 4;
  statesAt = ghostAt + ghostSlots * 2;
}

/**
 * Whether the geometry in the module's fields may not be that of cache `at` as
 * committed now: another cache or handle, a commit since that changed it (each
 * bumps the generation), or this thread's own growth, whose commit may have
 * been aborted.
 */
@inline function geometryMoved(at: u32, statsAt: usize): bool {
  return kv != at || stats != statsAt || addedSegment != 0 || load<u32>(poolAddr(at + H_GENERATION)) != generation;
}

@inline function count(field: u32): void {
  store<u64>(stats + field, load<u64>(stats + field) + 1);
}

// Transactional accessors: reads see the open transaction's own writes.
@inline function rd32(offset: u32): u32 {
  return txLoad32(offset);
}
function wr32(offset: u32, value: u32): i32 {
  store<u32>(keySlot(), value);
  return txWrite(offset, keySlot(), 4);
}
function rd16(offset: u32): u32 {
  txRead(offset, 2, keySlot());
  return load<u16>(keySlot());
}
function wr64(offset: u32, value: u64): i32 {
  store<u64>(keySlot(), value);
  return txWrite(offset, keySlot(), 8);
}
function wr16(offset: u32, value: u32): i32 {
  store<u16>(keySlot(), <u16>value);
  return txWrite(offset, keySlot(), 2);
}
@inline function w(field: u32): u32 {
  return load<u32>(work() + field);
}
@inline function setW(field: u32, value: u32): void {
  store<u32>(work() + field, value);
}
function loadState(): void {
  txRead(kv + H_STATE, STATE_SIZE, work());
}
// While a batch of sets shares a transaction, the state words are written once, at its end.
let stateDeferred = false;
function saveState(): i32 {
  return stateDeferred ? TX_OK : txWrite(kv + H_STATE, work(), STATE_SIZE);
}

@inline function entryAt(index: u32): u32 {
  const i = index - 1;
  return i < firstEntries ? entriesAt + i * entrySize : grownEntryAt(i);
}
/** Whether a value block of `size` bytes goes in its record (never in the formats before KVC5, whatever its size). */
@inline function fitsRecord(size: u32): bool {
  return inlineRoom != 0 && size <= inlineRoom;
}
/** Whether `value`, the value block of record `e`, is the record's own bytes. */
@inline function isInline(e: u32, value: u32): bool {
  return inlineRoom != 0 && value == entryAt(e) + ENTRY_HEAD;
}
/** Record `i` (from 0) past the first segment: segment k >= 1 holds records [first << (k - 1), first << k). */
function grownEntryAt(i: u32): u32 {
  const k: u32 = 32 - clz<u32>(i / firstEntries);
  const segment = k == addedSegment ? addedSegmentAt : load<u32>(poolAddr(kv + H_SEGMENTS + k * 4));
  return segment + (i - (firstEntries << (k - 1))) * entrySize;
}
/**
 * The bucket hash, keyed by the cache's seed: keys chosen to share one bucket
 * (a chain too long to move, every lookup a long walk) cannot be worked out
 * without the seed.
 */
@inline function bucketHash(key: u64): u32 {
  let h = key ^ hashKey;
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccd;
  return <u32>(h ^ (h >> 33));
}
/** The bucket of `key`: in the old table while the cache grows and that bucket has not moved yet. */
@inline function bucketOf(key: u64): u32 {
  const h = bucketHash(key);
  if (oldBucketsAt != 0 && (h & oldMask) >= migrated) return oldBucketsAt + (h & oldMask) * BUCKET_SIZE;
  return bucketsAt + (h & bucketMask) * BUCKET_SIZE;
}

/** The 64-bit key of a byte string: its hash. */
function byteKey(src: usize, length: u32): u64 {
  return xxh64(src, length, 0x6b76);
}

// Bucket lock words, for concurrent writers. Held only inside one call, so a
// crash can leave one set: opening the cache clears them.
function lockBucket(bucket: u32): void {
  const word = poolAddr(bucket);
  if (ASC_FEATURE_THREADS) {
    while (atomic.cmpxchg<u32>(word, 0, 1) != 0) {}
  } else store<u32>(word, 1);
}
function unlockBucket(bucket: u32): void {
  if (ASC_FEATURE_THREADS) atomic.store<u32>(poolAddr(bucket), 0);
  else store<u32>(poolAddr(bucket), 0);
}

/** A record's key length: 0 for an integer key. */
function keyLengthOf(record: usize): u32 {
  return (load<u8>(record + E_TAG) & TAG_BYTE_KEY) != 0 ? (load<u32>(record + E_POS) >>> 24) + 1 : 0;
}

/** Whether entry `e` holds `key`, as the open transaction sees it (byte keys compare their bytes). */
function matches(e: u32, key: u64, keyLength: u32, keySrc: usize): bool {
  txRead(entryAt(e), ENTRY_HEAD, keySlot());
  if (load<u64>(keySlot() + E_KEY) != key || keyLengthOf(keySlot()) != keyLength) return false;
  if (keyLength == 0) return true;
  // The transaction may have written the value block (a reused one): read it through the transaction.
  const compared = scratch() + KV_MAX_KEY;
  txRead(load<u32>(keySlot() + E_VALUE), keyLength, compared);
  return memory.compare(compared, keySrc, keyLength) == 0;
}

/** The entry holding `key` (index + 1, or 0), as the open transaction sees it. */
function find(key: u64, keyLength: u32, keySrc: usize): u32 {
  let e = rd32(bucketOf(key) + 4);
  while (e != 0) {
    if (matches(e, key, keyLength, keySrc)) return e;
    e = rd32(entryAt(e) + E_NEXT);
  }
  return 0;
}

function tagOf(e: u32): u8 {
  txRead(entryAt(e) + E_TAG, 1, keySlot());
  return load<u8>(keySlot()) & TAG_QUEUE;
}
function posOf(e: u32): u32 {
  return rd32(entryAt(e) + E_POS) & POS_MASK;
}

/** Removes entry `e`, which holds `key` and links to `next`, from its bucket chain. */
function unlink(e: u32, key: u64, next: u32): i32 {
  const bucket = bucketOf(key);
  lockBucket(bucket);
  let prev: u32 = 0;
  let cur = rd32(bucket + 4);
  while (cur != e) {
    prev = cur;
    cur = rd32(entryAt(cur) + E_NEXT);
  }
  const status = wr32(prev == 0 ? bucket + 4 : entryAt(prev) + E_NEXT, next);
  unlockBucket(bucket);
  return status;
}

/** Puts record `e`, unlinked, on the free list. */
function freeRecord(e: u32): i32 {
  memory.fill(keySlot(), 0, ENTRY_HEAD);
  store<u32>(keySlot() + E_NEXT, w(S_FREE));
  setW(S_FREE, e);
  return txWrite(entryAt(e), keySlot(), ENTRY_HEAD);
}

/** Records entry `e`'s new place: hot slot `slot`. */
function moveToHot(e: u32, slot: u32): i32 {
  const at = entryAt(e);
  txRead(at, ENTRY_HEAD, keySlot());
  store<u32>(keySlot() + E_POS, (load<u32>(keySlot() + E_POS) & ~POS_MASK) | slot);
  store<u8>(keySlot() + E_TAG, (load<u8>(keySlot() + E_TAG) & ~TAG_QUEUE) | TAG_HOT);
  store<u8>(keySlot() + E_FLAGS, 0);
  return txWrite(at + E_POS, keySlot() + E_POS, ENTRY_HEAD - E_POS);
}

// A set that evicts usually needs a block of the size it just freed, and a
// record: the first value block and the first record an operation's evictions
// let go of are kept as its spares, and newValue and newEntry take them instead
// of a free and an allocation of the same size (all journaled; a freed record
// is written to the free list and read back). Every operation that may forget
// an entry starts with dropSpares and ends with releaseSpares.
let spare: u32 = 0;
/** Bytes the spare block was allocated for. */
let spareSize: u32 = 0;
/** An unlinked record that is on no list yet (index + 1), or 0. */
let spareRecord: u32 = 0;

/** Forgets spares a trap may have left behind when it ended the last operation before its release. */
function dropSpares(): void {
  spare = 0;
  spareRecord = 0;
}

/** Lets go of the value of `e` (into the spare, or freed) and of its record (into the spare record, or freed). */
function forget(e: u32): i32 {
  txRead(entryAt(e), ENTRY_HEAD, keySlot());
  const key = load<u64>(keySlot() + E_KEY);
  const next = load<u32>(keySlot() + E_NEXT);
  const value = load<u32>(keySlot() + E_VALUE);
  const block = value != 0 && !isInline(e, value);
  if (block && spare == 0) {
    spare = value;
    spareSize = max<u32>(keyLengthOf(keySlot()) + load<u16>(keySlot() + E_LENGTH), 1);
  } else if (block) {
    const status = heap_free(value);
    if (status != TX_OK) return status;
  }
  const status = unlink(e, key, next);
  if (status != TX_OK || spareRecord != 0) return status != TX_OK ? status : freeRecord(e);
  spareRecord = e;
  return TX_OK;
}

/** Frees the spare block if the operation did not use it; passes `status` on (or the free's failure). */
function releaseSpareBlock(status: i32): i32 {
  if (spare == 0) return status;
  const freed = heap_free(spare);
  spare = 0;
  return status == TX_OK ? freed : status;
}

/** Frees both spares if the operation did not use them; passes `status` on (or the first failure). */
function releaseSpares(status: i32): i32 {
  if (spareRecord != 0) {
    const freed = freeRecord(spareRecord);
    spareRecord = 0;
    if (status == TX_OK) status = freed;
  }
  return releaseSpareBlock(status);
}

// Ghost table: one u16 per slot, a 12-bit fingerprint of the key over the
// 4-bit epoch in which the key left cold (an epoch: EPOCH_PERCENT of the
// capacity's keys leaving cold); 0 marks an empty slot. The slot and the
// fingerprint come from independent bits of a hash of the key.
const GHOST_RECENT: i32 = 1;
const GHOST_OLD: i32 = 2;
const EPOCH_MASK: u32 = 15;
function ghostHash(key: u64): u64 {
  let h = (key ^ (key >> 33)) * 0xff51afd7ed558ccd;
  h = (h ^ (h >> 33)) * 0xc4ceb9fe1a85ec53;
  return h ^ (h >> 33);
}
@inline function ghostSlotOf(h: u64): u32 {
  return ghostAt + <u32>(((h >> 32) * <u64>ghostSlots) >> 32) * 2;
}
@inline function fingerprintOf(h: u64): u32 {
  const fingerprint = <u32>h & 0xfff;
  return fingerprint == 0 ? 1 : fingerprint;
}
@inline function epochLength(): u32 {
  return max<u32>(1, <u32>((<u64>capacity * EPOCH_PERCENT) / 100));
}
@inline function ghostEpoch(): u32 {
  return (w(S_LEFT_COLD) / epochLength()) & EPOCH_MASK;
}

/** Forgets entry `e` (value and record), leaving its key's fingerprint and the epoch in the ghost. */
function ghostPush(e: u32): i32 {
  if (ghostSlots == 0) return forget(e);
  txRead(entryAt(e), 8, keySlot());
  const h = ghostHash(load<u64>(keySlot()));
  const slot = ghostSlotOf(h);
  if (rd16(slot) == 0) setW(S_GHOST_COUNT, w(S_GHOST_COUNT) + 1);
  // Counted modulo the 16 epochs, so that the epoch never jumps when the count wraps.
  const left = w(S_LEFT_COLD) + 1;
  setW(S_LEFT_COLD, left == (EPOCH_MASK + 1) * epochLength() ? 0 : left);
  const status = wr16(slot, (fingerprintOf(h) << 4) | ghostEpoch());
  return status != TX_OK ? status : forget(e);
}

/**
 * Takes `key` out of the ghost if it holds it: GHOST_RECENT if the key left
 * cold fewer than RECENT_EPOCHS epochs ago, else GHOST_OLD; 0 if the ghost does
 * not hold it, or a negative status.
 */
function ghostTake(key: u64): i32 {
  if (ghostSlots == 0) return 0;
  const h = ghostHash(key);
  const slot = ghostSlotOf(h);
  const held = rd16(slot);
  if (held >> 4 != fingerprintOf(h)) return 0;
  setW(S_GHOST_COUNT, w(S_GHOST_COUNT) - 1);
  const status = wr16(slot, 0);
  if (status != TX_OK) return status;
  return ((ghostEpoch() - held) & EPOCH_MASK) < RECENT_EPOCHS ? GHOST_RECENT : GHOST_OLD;
}

/**
 * Whether a ghost hit promotes: always for a key that left cold recently; for
 * one that left long ago, one hit in OLD_ADMIT_EVERY. A loop longer than the
 * cache then keeps a stable part of itself in hot, where admitting every such
 * key would have each evict the last (measured on the public traces, docs/cache.md).
 */
function ghostPromotes(ghost: i32): bool {
  if (ghost != GHOST_OLD) return ghost == GHOST_RECENT;
  setW(S_OLD_HITS, w(S_OLD_HITS) + 1);
  return w(S_OLD_HITS) % OLD_ADMIT_EVERY == 0;
}

// Hot ring.
function hotState(slot: u32): u8 {
  return load<u8>(poolAddr(statesAt + slot));
}
function setHotState(slot: u32, state: u8): void {
  store<u8>(poolAddr(statesAt + slot), state);
  pm_mark_dirty(<usize>(statesAt + slot), 1);
}

/**
 * An empty hot slot (the caller made sure one exists). The search starts after
 * the last slot it filled: while the ring fills up, that is the first empty
 * slot at or after the hand, found without walking the filled ones again.
 */
function emptyHotSlot(): u32 {
  let slot = w(S_FILL) < hotSlots ? w(S_FILL) : 0;
  while (rd32(hotAt + slot * 4) != 0) slot = slot + 1 == hotSlots ? 0 : slot + 1;
  setW(S_FILL, slot + 1);
  return slot;
}

/**
 * Two-phase eviction: the hand arms the HOT entries it passes and evicts the
 * first entry still armed since its last pass. Returns the freed slot.
 */
function hotEvict(): i64 {
  if (w(S_HOT_COUNT) == 0) return emptyHotSlot();
  for (;;) {
    const slot = w(S_HAND);
    setW(S_HAND, slot + 1 == hotSlots ? 0 : slot + 1);
    const e = rd32(hotAt + slot * 4);
    if (e == 0) continue;
    if (hotState(slot) != STATE_ARMED) {
      setHotState(slot, STATE_ARMED);
      continue;
    }
    // The hand stays on the freed slot: the entry placed there is the next one armed, so it must be
    // hit within one revolution to stay (measured on the public traces: fewer misses than passing it).
    setW(S_HAND, slot);
    setW(S_HOT_COUNT, w(S_HOT_COUNT) - 1);
    count(ST_EVICTIONS);
    let status = wr32(hotAt + slot * 4, 0);
    if (status == TX_OK) status = forget(e);
    return status != TX_OK ? <i64>status : <i64>slot;
  }
}

/** Fills hot slot `slot` with entry `e`, whose record already says so. */
function hotFill(e: u32, slot: u32): i32 {
  setW(S_HOT_COUNT, w(S_HOT_COUNT) + 1);
  setHotState(slot, STATE_HOT);
  return wr32(hotAt + slot * 4, e);
}

function hotSlotFor(): i64 {
  if (w(S_HOT_COUNT) >= hotSlots || w(S_COLD_COUNT) + w(S_HOT_COUNT) >= capacity) return hotEvict();
  return emptyHotSlot();
}

// Cold FIFO.
/** The cold slot the next entry takes (a cache that does not evict keeps no cold ring). */
function coldTail(): u32 {
  return twoPhase ? (w(S_COLD_HEAD) + w(S_COLD_USED)) % capacity : 0;
}
function coldPush(e: u32): i32 {
  setW(S_COLD_COUNT, w(S_COLD_COUNT) + 1);
  if (!twoPhase) return TX_OK;
  const pos = coldTail();
  setW(S_COLD_USED, w(S_COLD_USED) + 1);
  return wr32(coldAt + pos * 4, e);
}

/** Takes the oldest cold entry out: to hot if it was hit while cold (and the journal has room), else to the ghost. */
function coldEvict(): i32 {
  const head = w(S_COLD_HEAD);
  const e = rd32(coldAt + head * 4);
  setW(S_COLD_HEAD, head + 1 == capacity ? 0 : head + 1);
  setW(S_COLD_USED, w(S_COLD_USED) - 1);
  if (e == 0) return TX_OK;
  setW(S_COLD_COUNT, w(S_COLD_COUNT) - 1);
  let status = wr32(coldAt + head * 4, 0);
  if (status != TX_OK) return status;
  // The flag is a hint set by plain stores, but this transaction may have rewritten the record (a reused one).
  const flags = <u8>(rd32(entryAt(e) + E_TAG) >> 8);
  if ((flags & FLAG_HIT) != 0 && redoRoom() > reserve) {
    const slot = hotSlotFor();
    if (slot < 0) return <i32>slot;
    count(ST_PROMOTIONS);
    status = moveToHot(e, <u32>slot);
    return status != TX_OK ? status : hotFill(e, <u32>slot);
  }
  count(ST_EVICTIONS);
  return ghostPush(e);
}

/** Evicts until a new cold entry fits. */
function roomForCold(): i32 {
  let status: i32 = TX_OK;
  while (status == TX_OK) {
    if (w(S_COLD_USED) == capacity) status = coldEvict();
    else if (w(S_COLD_COUNT) + w(S_HOT_COUNT) < capacity) break;
    else if (w(S_COLD_COUNT) >= coldTarget || w(S_HOT_COUNT) == 0) status = coldEvict();
    else {
      const slot = hotEvict();
      if (slot < 0) status = <i32>slot;
    }
  }
  return status;
}

/** Evicts until an entry promoted from the ghost fits; returns its hot slot. */
function roomForHot(): i64 {
  while (w(S_COLD_COUNT) + w(S_HOT_COUNT) >= capacity && w(S_COLD_COUNT) > coldTarget) {
    const status = coldEvict();
    if (status != TX_OK) return status;
  }
  return hotSlotFor();
}

/** Writes a value block: the key bytes, then the value. */
function writeBlock(block: u32, keySrc: usize, keyLength: u32, src: usize, length: u32): i32 {
  const status = txWrite(block, keySrc, keyLength);
  return status != TX_OK ? status : txWrite(block + keyLength, src, length);
}

/** A new value block holding the key bytes, then the value: the spare if it has the size, else a new one. */
function newValue(keySrc: usize, keyLength: u32, src: usize, length: u32): i64 {
  const size = max<u32>(keyLength + length, 1);
  let block: i64;
  if (spare != 0 && heapSameSlot(spareSize, size)) {
    block = spare;
    spare = 0;
  } else {
    // A spare of another size is freed first: its chunk may be the room the new block needs.
    const freed = releaseSpareBlock(TX_OK);
    if (freed != TX_OK) return freed;
    block = heap_alloc(size);
    if (block < 0) return block;
  }
  const status = writeBlock(<u32>block, keySrc, keyLength, src, length);
  return status != TX_OK ? <i64>status : block;
}

/** Writes record `e` of a new entry whose value is in `block`, or in the record itself when `block` is 0 (one journal entry). */
function writeNewEntry(e: u32, key: u64, keySrc: usize, keyLength: u32, block: u32, src: usize, length: u32, next: u32, tag: u8, pos: u32): i32 {
  const at = entryAt(e);
  memory.fill(keySlot(), 0, ENTRY_HEAD);
  store<u64>(keySlot() + E_KEY, key);
  store<u32>(keySlot() + E_NEXT, next);
  store<u32>(keySlot() + E_VALUE, block != 0 ? block : at + ENTRY_HEAD);
  store<u32>(keySlot() + E_POS, keyLength == 0 ? pos : pos | ((keyLength - 1) << 24));
  store<u8>(keySlot() + E_TAG, keyLength == 0 ? tag : tag | TAG_BYTE_KEY);
  store<u16>(keySlot() + E_LENGTH, <u16>length);
  if (block != 0) return txWrite(at, keySlot(), ENTRY_HEAD);
  copyBytes(keySlot() + ENTRY_HEAD, keySrc, keyLength);
  copyBytes(keySlot() + ENTRY_HEAD + keyLength, src, length);
  return txWrite(at, keySlot(), ENTRY_HEAD + keyLength + length);
}

function newEntry(): u32 {
  if (spareRecord != 0) {
    const e = spareRecord;
    spareRecord = 0;
    return e;
  }
  const free = w(S_FREE);
  if (free != 0) {
    setW(S_FREE, rd32(entryAt(free) + E_NEXT));
    return free;
  }
  const fresh = w(S_FRESH) + 1;
  // Never past the records there are: a record lost to the free list would otherwise be written outside the cache.
  if (fresh > capacity) unreachable();
  setW(S_FRESH, fresh);
  return fresh;
}

/**
 * Replaces the value of a cold or hot entry: in its block when the new value
 * fits there (both in the record, or both needing a block of the same size:
 * the redo journal carries the value either way, and the allocator's lines are
 * spared), else in the record or a new block.
 */
function replaceValue(e: u32, keySrc: usize, keyLength: u32, src: usize, length: u32): i32 {
  const at = entryAt(e);
  const oldLength = rd16(at + E_LENGTH);
  const oldBlock = rd32(at + E_VALUE);
  const wasInline = isInline(e, oldBlock);
  const inline = fitsRecord(keyLength + length);
  let status: i32 = TX_OK;
  if (wasInline ? inline : !inline && heapSameSlot(max<u32>(keyLength + oldLength, 1), max<u32>(keyLength + length, 1))) {
    status = txWrite(oldBlock + keyLength, src, length);
    if (status == TX_OK && length != oldLength) status = wr16(at + E_LENGTH, length);
  } else {
    let block: i64 = at + ENTRY_HEAD;
    if (inline) status = writeBlock(<u32>block, keySrc, keyLength, src, length);
    else block = newValue(keySrc, keyLength, src, length);
    if (block < 0) return <i32>block;
    if (status == TX_OK && !wasInline) status = heap_free(oldBlock);
    if (status == TX_OK) status = wr32(at + E_VALUE, <u32>block);
    if (status == TX_OK) status = wr16(at + E_LENGTH, length);
  }
  // A set counts as a hit: an armed entry is HOT again (a store only if it was armed, as a hit makes).
  if (status == TX_OK && tagOf(e) == TAG_HOT && hotState(posOf(e)) != STATE_HOT) setHotState(posOf(e), STATE_HOT);
  return status;
}

function set(key: u64, keySrc: usize, keyLength: u32, src: usize, length: u32): i32 {
  dropSpares();
  return releaseSpares(setEntry(key, keySrc, keyLength, src, length));
}

function setEntry(key: u64, keySrc: usize, keyLength: u32, src: usize, length: u32): i32 {
  count(ST_SETS);
  reserve = keyLength + length + SET_JOURNAL_BYTES;
  let e = find(key, keyLength, keySrc);
  if (e != 0) return replaceValue(e, keySrc, keyLength, src, length);
  let status: i32 = TX_OK;
  let slot: i64 = -1;
  const ghost = ghostTake(key);
  if (ghost < 0) return ghost;
  if (ghostPromotes(ghost)) {
    // The key was seen before and left cold without a hit: it is promoted to hot.
    count(ST_GHOST_HITS);
    slot = roomForHot();
    if (slot < 0) status = <i32>slot;
  } else if (twoPhase) {
    status = roomForCold();
  } else if (w(S_COLD_COUNT) >= capacity) {
    if (capacity >= maxCapacity) return KV_ERR_FULL;
    status = grow();
  }
  if (status != TX_OK) return status;
  const block = fitsRecord(keyLength + length) ? 0 : newValue(keySrc, keyLength, src, length);
  if (block < 0) {
    // No room for the value: the evictions made so far stand (the host commits them), and a promoted ghost is
    // forgotten. The spare record goes to the free list before the state words that list it are saved.
    const released = releaseSpares(TX_OK);
    const saved = released != TX_OK ? released : saveState();
    return saved != TX_OK ? saved : <i32>block;
  }
  e = newEntry();
  const bucket = bucketOf(key);
  const hot = slot >= 0;
  lockBucket(bucket);
  status = writeNewEntry(e, key, keySrc, keyLength, <u32>block, src, length, rd32(bucket + 4), hot ? TAG_HOT : TAG_COLD, hot ? <u32>slot : coldTail());
  if (status == TX_OK) status = wr32(bucket + 4, e);
  unlockBucket(bucket);
  if (status == TX_OK) {
    if (hot) {
      status = hotFill(e, <u32>slot);
      if (status == TX_OK) count(ST_PROMOTIONS);
    } else status = coldPush(e);
  }
  if (status == TX_OK && oldBucketsAt != 0 && !blockingRehash) status = migrate(migrateStep());
  return status != TX_OK ? status : saveState();
}

// Growth.
/**
 * Doubles the capacity (a new segment of entry records, up to the maximum) and
 * the buckets (a new table, filled as the old one's buckets move). A move still
 * under way is finished first.
 */
function grow(): i32 {
  if (oldBucketsAt != 0) {
    const status = migrate(0xffffffff);
    if (status != TX_OK) return status;
    if (oldBucketsAt != 0) return TX_ERR_TOO_LARGE; // the journal could not take the rest of the move
  }
  const k: u32 = 32 - clz<u32>(capacity / firstEntries); // segment k holds `capacity` records
  if (k >= KV_MAX_SEGMENTS) return KV_ERR_FULL;
  const added = min<u32>(capacity, maxCapacity - capacity);
  const records = heap_alloc(added * entrySize);
  if (records < 0) return <i32>records;
  let status = wr32(kv + H_SEGMENTS + k * 4, <u32>records);
  if (status == TX_OK) status = wr32(kv + H_CAPACITY, capacity + added);
  addedSegment = k;
  addedSegmentAt = <u32>records;
  capacity += added;
  // The buckets double only once there are fewer than 3/4 as many as records (as plan() sizes them).
  const buckets = (bucketMask + 1) * 2;
  if (status != TX_OK) return status;
  if (<u64>(bucketMask + 1) * 4 >= <u64>capacity * 3) return writeTables(bucketsAt, 0, 0);
  const table = heap_alloc(buckets * BUCKET_SIZE);
  // No room for a bigger table: the chains grow longer instead.
  if (table == TX_ERR_NO_SPACE) return writeTables(bucketsAt, 0, 0);
  if (table < 0) return <i32>table;
  status = wr32(kv + H_BUCKETS, buckets);
  if (status == TX_OK) status = writeTables(<u32>table, bucketsAt, 0);
  oldBucketsAt = bucketsAt;
  oldMask = bucketMask;
  bucketsAt = <u32>table;
  bucketMask = buckets - 1;
  migrated = 0;
  return status;
}

/** Writes the bucket tables and the buckets moved, and bumps the generation: every change of the geometry ends here. */
function writeTables(table: u32, oldTable: u32, moved: u32): i32 {
  generation++;
  store<u32>(keySlot(), table);
  store<u32>(keySlot() + 4, oldTable);
  store<u32>(keySlot() + 8, moved);
  store<u32>(keySlot() + 12, generation);
  return txWrite(kv + H_TABLE, keySlot(), 16);
}

/** Old buckets this set moves: enough that the move ends before the cache fills again. */
function migrateStep(): u32 {
  const left = oldMask + 1 - migrated;
  const room = capacity - w(S_COLD_COUNT);
  return max<u32>(MIGRATE_STEP, room == 0 ? left : (left + room - 1) / room);
}

/** Moves up to `limit` old buckets to the new table, while the journal has room; frees the old table after its last. */
function migrate(limit: u32): i32 {
  let moved: u32 = 0;
  let status: i32 = TX_OK;
  while (status == TX_OK && oldBucketsAt != 0 && moved < limit) {
    status = moveBucket();
    if (status == MOVE_NO_ROOM) break;
    moved++;
    if (status == TX_OK && migrated == oldMask + 1) {
      status = heap_free(oldBucketsAt);
      oldBucketsAt = 0;
      migrated = 0;
      if (status == TX_OK) status = writeTables(bucketsAt, 0, 0);
    }
  }
  if (status == MOVE_NO_ROOM) status = TX_OK;
  if (status == TX_OK && oldBucketsAt != 0 && moved > 0) status = writeTables(bucketsAt, oldBucketsAt, migrated);
  return status;
}

const MOVE_NO_ROOM: i32 = 1;
/** Journal bytes of one write of up to 8 bytes. */
const SMALL_WRITE_BYTES: u32 = 16;
/** Journal bytes a move keeps for what its transaction writes after it: the tables, the old table's free, the queue state. */
const MOVE_RESERVE: u32 = 512;

/** Splits the next old bucket's chain between its two buckets in the new table. */
function moveBucket(): i32 {
  const from = oldBucketsAt + migrated * BUCKET_SIZE;
  let length: u32 = 0;
  for (let e = rd32(from + 4); e != 0; e = rd32(entryAt(e) + E_NEXT)) length++;
  if (redoRoom() < (length + 2) * SMALL_WRITE_BYTES + MOVE_RESERVE) return MOVE_NO_ROOM;
  const highBit = oldMask + 1;
  let low: u32 = 0;
  let high: u32 = 0;
  let status: i32 = TX_OK;
  for (let e = rd32(from + 4); e != 0 && status == TX_OK; ) {
    const at = entryAt(e);
    const next = rd32(at + E_NEXT);
    if ((bucketHash(txLoad64(at + E_KEY)) & highBit) != 0) {
      status = wr32(at + E_NEXT, high);
      high = e;
    } else {
      status = wr32(at + E_NEXT, low);
      low = e;
    }
    e = next;
  }
  // A bucket is its lock word (clear) and its first entry.
  if (status == TX_OK) status = wr64(bucketsAt + migrated * BUCKET_SIZE, <u64>low << 32);
  if (status == TX_OK) status = wr64(bucketsAt + (migrated + highBit) * BUCKET_SIZE, <u64>high << 32);
  migrated++;
  return status;
}

/** Buckets that hold chains: the whole table, or while the cache grows the old buckets not moved yet and the new ones moved into. */
function liveBuckets(): u32 {
  return oldBucketsAt == 0 ? bucketMask + 1 : oldMask + 1 + migrated;
}
/** Live bucket `n` of liveBuckets(). */
function liveBucket(n: u32): u32 {
  if (oldBucketsAt == 0 || n < migrated) return bucketsAt + n * BUCKET_SIZE;
  if (n < 2 * migrated) return bucketsAt + (oldMask + 1 + n - migrated) * BUCKET_SIZE;
  return oldBucketsAt + (n - migrated) * BUCKET_SIZE;
}

/** Removes `key`; returns 1 if it was present, 0 if not, or a negative status. */
function remove(key: u64, keySrc: usize, keyLength: u32): i32 {
  dropSpares();
  loadState();
  const e = find(key, keyLength, keySrc);
  if (e == 0) {
    // A deleted key is forgotten by the ghost too.
    const taken = ghostTake(key);
    if (taken <= 0) return taken;
    const saved = saveState();
    return saved != TX_OK ? saved : 0;
  }
  const pos = posOf(e);
  let status: i32;
  if (tagOf(e) == TAG_COLD) {
    setW(S_COLD_COUNT, w(S_COLD_COUNT) - 1);
    status = twoPhase ? wr32(coldAt + pos * 4, 0) : TX_OK;
  } else {
    setW(S_HOT_COUNT, w(S_HOT_COUNT) - 1);
    status = wr32(hotAt + pos * 4, 0);
  }
  if (status == TX_OK) status = releaseSpares(forget(e));
  if (status == TX_OK) status = saveState();
  return status != TX_OK ? status : 1;
}

// Lookups take no lock and, on a HOT entry, make no store. They may run on any
// thread while another commits a set, whose redo writes land in place in the
// middle of the lookup: so a lookup reads first (bounded, every offset checked),
// then checks that no commit applied writes meanwhile (the apply sequence, a
// seqlock that commits make odd while applying), and retries if one did. Hints
// and counters are stored only after that check.
const TORN: u32 = 0xffffffff;
/** A word of this thread's scratch area, after the key-compare area, for its load fences. */
const FENCE_WORD: usize = 2 * KV_MAX_KEY;

/** The entry holding `key` (index + 1, or 0), read without the transaction; TORN if the chain makes no sense. */
@inline function findUnlocked(key: u64, keyLength: u32, keySrc: usize): u32 {
  return chainFind(load<u32>(poolAddr(bucketOf(key) + 4)), key, keyLength, keySrc);
}

/** The entry holding `key` in the chain from entry `e` on, read without the transaction (as findUnlocked). */
function chainFind(e: u32, key: u64, keyLength: u32, keySrc: usize): u32 {
  for (let steps: u32 = 0; e != 0; steps++) {
    if (e > capacity || steps > capacity) return TORN;
    const record = poolAddr(entryAt(e));
    if (load<u64>(record + E_KEY) == key && keyLengthOf(record) == keyLength) {
      if (keyLength == 0) return e;
      const value = load<u32>(record + E_VALUE);
      if (<u64>value + keyLength > ctl<u64>(CTL_POOL_SIZE)) return TORN;
      if (memory.compare(poolAddr(value), keySrc, keyLength) == 0) return e;
    }
    e = load<u32>(record + E_NEXT);
  }
  return 0;
}

/**
 * Copies the value of `key` to `dst` (at most `room` bytes); returns its
 * length, or -1 on a miss. Without `touch` (a presence test) it copies and
 * counts nothing and changes no hint.
 */
function get(cache: u32, statsAt: usize, key: u64, keySrc: usize, keyLength: u32, dst: usize, room: u32, touch: bool): i32 {
  let e: u32 = 0;
  let tag: u8 = TAG_FREE;
  let length: u32 = 0;
  let retried = false;
  for (;;) {
    const before = load32(APPLY_SEQUENCE_ADDRESS);
    if ((before & 1) != 0) continue; // a commit is applying its writes: they are short
    // A commit may have grown the cache or moved buckets; after a failed validation the geometry may be torn too.
    if (retried || geometryMoved(cache, statsAt)) use(cache, statsAt);
    e = findUnlocked(key, keyLength, keySrc);
    tag = TAG_FREE;
    if (e != 0 && e != TORN) {
      const read = readValue(e, keyLength, dst, room, touch);
      if (read < 0) e = TORN;
      else {
        tag = <u8>(read >> 16);
        length = <u32>read & 0xffff;
      }
    }
    loadFence(scratch() + FENCE_WORD);
    if (e != TORN && load32(APPLY_SEQUENCE_ADDRESS) == before) break;
    retried = true;
  }
  if (tag != TAG_COLD && tag != TAG_HOT) {
    if (touch) count(ST_MISSES);
    return -1;
  }
  if (touch) hit(e, tag);
  return <i32>length;
}

/**
 * Reads found entry `e` inside a lookup's window: copies up to `room` bytes of its
 * value to `dst` when `copy` and it is COLD or HOT. Returns its value's length with
 * its queue tag above bit 16, or -1 when the value lies outside the pool (a torn read).
 */
function readValue(e: u32, keyLength: u32, dst: usize, room: u32, copy: bool): i32 {
  const at = poolAddr(entryAt(e));
  const tag = load<u8>(at + E_TAG) & TAG_QUEUE;
  const length = <u32>load<u16>(at + E_LENGTH);
  const value = <u64>load<u32>(at + E_VALUE) + keyLength;
  if (value + length > ctl<u64>(CTL_POOL_SIZE)) return -1;
  if (copy && (tag == TAG_COLD || tag == TAG_HOT)) copyBytes(dst, poolAddr(<usize>value), min(length, room));
  return <i32>(length | (<u32>tag << 16));
}

/** Counts a validated hit on entry `e` (queue `tag`) and sets its hints. */
function hit(e: u32, tag: u8): void {
  count(ST_HITS);
  const at = poolAddr(entryAt(e));
  if (tag == TAG_HOT) {
    // The zero-store path: a HOT entry is read and nothing else.
    const slot = load<u32>(at + E_POS) & POS_MASK;
    if (slot < hotSlots && hotState(slot) == STATE_ARMED) {
      setHotState(slot, STATE_HOT);
      count(ST_SOFT_FAULTS);
      count(ST_HOT_HIT_STORES);
    }
  } else if ((load<u8>(at + E_FLAGS) & FLAG_HIT) == 0) {
    store<u8>(at + E_FLAGS, FLAG_HIT);
    pm_mark_dirty(<usize>(entryAt(e) + E_FLAGS), 1);
  }
}

// Exports. Integer keys arrive as f64 (safe integers, checked by the host), byte keys and values at linear addresses.

export function kv_get_num(at: u32, stats: usize, key: f64, dst: usize, room: u32, touch: bool): i32 {
  return get(at, stats, <u64>key, 0, 0, dst, room, touch);
}
export function kv_get_bytes(at: u32, stats: usize, keySrc: usize, keyLength: u32, dst: usize, room: u32, touch: bool): i32 {
  return get(at, stats, byteKey(keySrc, keyLength), keySrc, keyLength, dst, room, touch);
}
export function kv_set_num(at: u32, stats: usize, key: f64, src: usize, length: u32): i32 {
  use(at, stats);
  loadState();
  return set(<u64>key, 0, 0, src, length);
}
export function kv_set_bytes(at: u32, stats: usize, keySrc: usize, keyLength: u32, src: usize, length: u32): i32 {
  use(at, stats);
  loadState();
  return set(byteKey(keySrc, keyLength), keySrc, keyLength, src, length);
}
export function kv_delete_num(at: u32, stats: usize, key: f64): i32 {
  use(at, stats);
  return remove(<u64>key, 0, 0);
}
export function kv_delete_bytes(at: u32, stats: usize, keySrc: usize, keyLength: u32): i32 {
  use(at, stats);
  return remove(byteKey(keySrc, keyLength), keySrc, keyLength);
}

/**
 * Looks up `n` integer keys (f64 at `keys`): value lengths (or -1) go to
 * `lengths` (i32), values to `values` in slots of `stride` bytes.
 */
export function kv_get_many_num(at: u32, stats: usize, keys: usize, n: u32, lengths: usize, values: usize, stride: u32): void {
  for (let first: u32 = 0; first < n; first += LOOKUP_GROUP) {
    getGroup(at, stats, keys + first * 8, min(LOOKUP_GROUP, n - first), lengths + first * 4, values + first * stride, stride);
  }
}

/**
 * Keys a batch looks up together. A lookup in a large cache is a few cache
 * misses in a row (bucket, record, value); a group takes each step for all its
 * keys before the next, so the misses of different keys overlap instead of
 * queueing behind each other.
 */
const LOOKUP_GROUP: u32 = 16;
/** Validation windows a group tries before it looks its keys up one at a time. */
const GROUP_TRIES: u32 = 8;
/** Marks a group's entry that was HOT when read (entry numbers stay below 2^25). */
const GROUP_HOT: u32 = 0x80000000;
/** This thread's staging words for a group's entries (LOOKUP_GROUP u32s, after the staged record). */
@inline function groupEntries(): usize {
  return staging() + 192;
}

/** Looks up `m` (at most LOOKUP_GROUP) integer keys at once, inside one validated window, as `get` does one. */
function getGroup(cache: u32, statsAt: usize, keys: usize, m: u32, lengths: usize, values: usize, stride: u32): void {
  const entries = groupEntries();
  let retried = false;
  for (let tries: u32 = 0; ; tries++) {
    if (tries == GROUP_TRIES) {
      // Commits on other threads keep landing inside the group's window, 16 lookups long: one at a time, each window is short.
      for (let i: u32 = 0; i < m; i++) {
        store<i32>(lengths + i * 4, get(cache, statsAt, <u64>load<f64>(keys + i * 8), 0, 0, values + i * stride, stride, true));
      }
      return;
    }
    const before = load32(APPLY_SEQUENCE_ADDRESS);
    if ((before & 1) != 0) continue;
    if (retried || geometryMoved(cache, statsAt)) use(cache, statsAt);
    for (let i: u32 = 0; i < m; i++) store<u32>(entries + i * 4, load<u32>(poolAddr(bucketOf(<u64>load<f64>(keys + i * 8)) + 4)));
    let torn = false;
    for (let i: u32 = 0; i < m; i++) {
      const e = chainFind(load<u32>(entries + i * 4), <u64>load<f64>(keys + i * 8), 0, 0);
      store<u32>(entries + i * 4, e);
      torn = torn || e == TORN;
    }
    for (let i: u32 = 0; i < m && !torn; i++) {
      const e = load<u32>(entries + i * 4);
      let length: i32 = -1;
      if (e != 0) {
        const read = readValue(e, 0, values + i * stride, stride, true);
        const tag = <u8>(read >> 16);
        if (read < 0) torn = true;
        else if (tag == TAG_COLD || tag == TAG_HOT) {
          length = read & 0xffff;
          if (tag == TAG_HOT) store<u32>(entries + i * 4, e | GROUP_HOT);
        }
      }
      store<i32>(lengths + i * 4, length);
    }
    loadFence(scratch() + FENCE_WORD);
    if (!torn && load32(APPLY_SEQUENCE_ADDRESS) == before) break;
    retried = true;
  }
  for (let i: u32 = 0; i < m; i++) {
    if (load<i32>(lengths + i * 4) < 0) count(ST_MISSES);
    else {
      const found = load<u32>(entries + i * 4);
      hit(found & ~GROUP_HOT, (found & GROUP_HOT) != 0 ? TAG_HOT : TAG_COLD);
    }
  }
}

/**
 * Sets integer keys from `first` on, value i being `lengths[i]` bytes at
 * `values + i * stride`, while the open transaction's journal has room;
 * returns how many were set, or a negative status (the failed set wrote nothing
 * that breaks the cache: its evictions stand).
 */
export function kv_set_many_num(at: u32, stats: usize, keys: usize, n: u32, lengths: usize, values: usize, stride: u32): i32 {
  use(at, stats);
  loadState(); // the queue state stays in work() from one set to the next
  stateDeferred = true;
  let done: u32 = 0;
  let status: i32 = TX_OK;
  for (; done < n; done++) {
    if (done > 0 && (redoRoom() < stride + 2 * SET_JOURNAL_BYTES || done >= SETS_PER_TRANSACTION)) break;
    status = set(<u64>load<f64>(keys + done * 8), 0, 0, values + done * stride, load<u32>(lengths + done * 4));
    if (status != TX_OK) break;
    // A doubling ends the transaction: its segment's offset reaches the header only with the commit, and a
    // second doubling would need the first segment's.
    if (addedSegment != 0) {
      done++;
      break;
    }
  }
  stateDeferred = false;
  // Also after a failed set: one that found no room for its value commits the evictions it made.
  const saved = saveState();
  return saved != TX_OK ? saved : status != TX_OK ? status : <i32>done; // a failed state write must not commit as "no space"
}


/**
 * Plans the geometry of a cache of `cap` entries into the module's fields; returns its block size.
 * The fields then describe no cache: the next lookup rereads its cache's geometry, even when
 * the cache planned was never made (ENOSPC).
 */
function plan(cap: u32, flags: u32): u32 {
  kv = 0;
  inlineRoom = INLINE_BYTES;
  entrySize = ENTRY_HEAD + INLINE_BYTES;
  twoPhase = (flags & KV_EVICT_TWO_PHASE) != 0;
  capacity = cap;
  ghostSlots = twoPhase ? max<u32>(1, <u32>((<u64>cap * GHOST_PERCENT) / 100)) : 0;
  coldTarget = twoPhase ? max<u32>(1, <u32>((<u64>cap * COLD_PERCENT) / 100)) : cap;
  hotSlots = cap - coldTarget;
  // At least 3/4 as many buckets as records: chains stay short, and the table a third of the records' size.
  let buckets: u32 = 16;
  while (buckets < (<u64>cap * 3) / 4) buckets <<= 1;
  bucketMask = buckets - 1;
  return blockSize(cap, ghostSlots, hotSlots);
}

/** Bytes a new cache of `cap` entries takes in the pool (its block and bucket table; values are allocated apart). */
export function kv_block_size(cap: u32, flags: u32): u32 {
  return plan(cap, flags) + (bucketMask + 1) * BUCKET_SIZE;
}

/** A zeroed block of `size` bytes, flushed so that the commit's fence makes it durable; or a negative status. */
function zeroedBlock(size: u32): i64 {
  const block = heap_alloc(size);
  if (block < 0) return block;
  memory.fill(poolAddr(<u32>block), 0, size);
  pm_mark_dirty(<usize>block, size);
  pm_flush(<usize>block, size);
  return block;
}

/**
 * Creates a cache named by the `nameLength` bytes at the start of the scratch
 * area, inside the open transaction. Its rings and buckets are zeroed in place
 * and flushed, so the commit's fence makes them durable with the header.
 * `hashSeed` (random, not 0) keys its bucket hash. Returns the cache's pool
 * offset, or a negative status.
 */
export function kv_create(cap: u32, maxCap: u32, flags: u32, nameLength: u32, hashSeed: u32): i64 {
  const block = zeroedBlock(plan(cap, flags));
  if (block < 0) return block;
  const table = zeroedBlock((bucketMask + 1) * BUCKET_SIZE);
  if (table < 0) return table;
  const at = <u32>block;
  const header = scratch() + KV_MAX_NAME;
  memory.fill(header, 0, HEADER_SIZE);
  store<u32>(header + H_MAGIC, KV_MAGIC);
  store<u32>(header + H_FLAGS, flags & (KV_EVICT_TWO_PHASE | KV_REHASH_BLOCKING));
  store<u32>(header + H_CAPACITY, cap);
  store<u32>(header + H_MAX_CAPACITY, max<u32>(cap, maxCap));
  store<u32>(header + H_TABLE, <u32>table);
  store<u32>(header + H_COLD_TARGET, coldTarget);
  store<u32>(header + H_HOT_SLOTS, hotSlots);
  store<u32>(header + H_GHOST_SLOTS, ghostSlots);
  store<u32>(header + H_BUCKETS, bucketMask + 1);
  store<u32>(header + H_ENTRIES, cap);
  store<u32>(header + H_HASH_SEED, hashSeed);
  const directory = <u32>ctl<u64>(CTL_META_OFFSET) + META_KV_DIRECTORY;
  store<u32>(header + H_NEXT, <u32>txLoad64(directory));
  store<u32>(header + H_NAME_LENGTH, nameLength);
  memory.copy(header + H_NAME, scratch(), nameLength);
  let status = txWrite(at, header, HEADER_SIZE);
  if (status == TX_OK) status = txStore64(directory, at);
  return status != TX_OK ? <i64>status : <i64>at;
}

/** The cache after the one at `at` in the pool's directory (the first for 0), or 0. */
export function kv_next(at: u32): u32 {
  if (at == 0) return <u32>load64(poolAddr(<u32>ctl<u64>(CTL_META_OFFSET) + META_KV_DIRECTORY));
  return load<u32>(poolAddr(at + H_NEXT));
}

/** Copies the name of the cache at `at` to the start of the scratch area; returns its length. */
export function kv_name(at: u32): u32 {
  const length = load<u32>(poolAddr(at + H_NAME_LENGTH));
  memory.copy(scratch(), poolAddr(at + H_NAME), length);
  return length;
}

/** The cache named by the `nameLength` bytes at the start of the scratch area (pool offset), or 0. */
export function kv_find(nameLength: u32): u32 {
  for (let at = kv_next(0); at != 0; at = kv_next(at)) {
    const base = poolAddr(at);
    if (load<u32>(base + H_NAME_LENGTH) == nameLength && memory.compare(base + H_NAME, scratch(), nameLength) == 0) return at;
  }
  return 0;
}

/** Whether the cache at `at` has a format this build reads (this build's, KVC4 or KVC3; an older one has another magic and layout). */
export function kv_current(at: u32): bool {
  const magic = load<u32>(poolAddr(at + H_MAGIC));
  return magic == KV_MAGIC || magic == KV_MAGIC_KEYED || magic == KV_MAGIC_UNSEEDED;
}

/** Readies a cache (of this format) found after a restart: clears bucket lock words a crash may have left set, and the handle's counters. */
export function kv_open(at: u32, stats: usize): void {
  use(at, stats);
  for (let n: u32 = 0; n < liveBuckets(); n++) store<u32>(poolAddr(liveBucket(n)), 0);
  memory.fill(stats, 0, STATS_SIZE);
}

/**
 * Geometry, queue sizes and counters into the scratch area as u64s: capacity,
 * cold target, hot slots, ghost slots, cold, hot, ghost, then the handle's
 * eight counters (hits, misses, sets, evictions, ghost hits, promotions, soft
 * faults, stores by hits on hot entries), then the flags, the capacity it was
 * created with, the maximum capacity, the buckets, and the old buckets still to
 * move (0 unless it is growing).
 */
export function kv_info(at: u32, stats: usize): void {
  use(at, stats);
  const base = poolAddr(at);
  const out = scratch();
  store<u64>(out, capacity);
  store<u64>(out + 8, coldTarget);
  store<u64>(out + 16, hotSlots);
  store<u64>(out + 24, ghostSlots);
  store<u64>(out + 32, load<u32>(base + H_STATE + S_COLD_COUNT));
  store<u64>(out + 40, load<u32>(base + H_STATE + S_HOT_COUNT));
  store<u64>(out + 48, load<u32>(base + H_STATE + S_GHOST_COUNT));
  memory.copy(out + 56, stats, STATS_SIZE);
  store<u64>(out + 120, load<u32>(base + H_FLAGS));
  store<u64>(out + 128, firstEntries);
  store<u64>(out + 136, maxCapacity);
  store<u64>(out + 144, bucketMask + 1);
  store<u64>(out + 152, bucketsLeft());
}

/** Old buckets the growing cache at `at` has still to move (0 when it is not growing). */
export function kv_buckets_left(at: u32): u32 {
  use(at, 0);
  return bucketsLeft();
}
function bucketsLeft(): u32 {
  return oldBucketsAt == 0 ? 0 : oldMask + 1 - migrated;
}

/**
 * Moves up to `limit` buckets of the growing cache at `at` inside the open
 * transaction, as many as its journal takes; returns the buckets still to move,
 * or a negative status.
 */
export function kv_migrate(at: u32, stats: usize, limit: u32): i64 {
  use(at, stats);
  const before = bucketsLeft();
  const status = migrate(limit);
  if (status != TX_OK) return status;
  // A bucket whose chain does not fit an empty journal can never move.
  return before > 0 && bucketsLeft() == before && limit > 0 ? <i64>TX_ERR_TOO_LARGE : <i64>bucketsLeft();
}

/**
 * Entry `index` (from 1) for inspection: returns its tag (0 free, 1 cold,
 * 3 hot) and writes key (u64), value offset, value length and key length
 * (u32s) to the scratch area; -1 past the last record ever used.
 */
export function kv_entry(at: u32, index: u32): i32 {
  use(at, 0);
  if (index == 0 || index > load<u32>(poolAddr(at + H_STATE + S_FRESH))) return -1;
  const record = poolAddr(entryAt(index));
  const out = scratch();
  store<u64>(out, load<u64>(record + E_KEY));
  store<u32>(out + 8, load<u32>(record + E_VALUE));
  store<u32>(out + 12, load<u16>(record + E_LENGTH));
  store<u32>(out + 16, keyLengthOf(record));
  return load<u8>(record + E_TAG) & TAG_QUEUE;
}

/** Ghost slot `index` for inspection: its fingerprint (0 empty), or -1 past the last slot. */
export function kv_ghost(at: u32, index: u32): i32 {
  use(at, 0);
  return index < ghostSlots ? <i32>load<u16>(poolAddr(ghostAt + index * 2)) : -1;
}

/**
 * Checks the cache's invariants on the committed state; returns 0, or the
 * number of the first that fails: 1 header, 2 a chain holds a free record or
 * one of another bucket, 3 a chain is longer than the records, 4 cold ring,
 * 5 ghost count, 6 hot ring, 7 queue counts, 8 free list, 9 a value block,
 * 10 capacity.
 */
export function kv_check(at: u32): i32 {
  const base = poolAddr(at);
  if (!kv_current(at)) return 1;
  use(at, 0);
  const state = base + H_STATE;
  const fresh = load<u32>(state + S_FRESH);
  if (fresh > capacity || capacity > maxCapacity || hotSlots + coldTarget != capacity && twoPhase) return 1;
  if (migrated > oldMask || (oldBucketsAt == 0 && migrated != 0)) return 1;
  for (let k: u32 = 1; firstEntries << (k - 1) < capacity; k++) {
    if (k >= KV_MAX_SEGMENTS || load<u32>(poolAddr(at + H_SEGMENTS + k * 4)) == 0) return 1;
  }
  let chained: u32 = 0;
  for (let n: u32 = 0; n < liveBuckets(); n++) {
    const bucket = liveBucket(n);
    let e = load<u32>(poolAddr(bucket + 4));
    while (e != 0) {
      if (e > fresh) return 2;
      const record = poolAddr(entryAt(e));
      if ((load<u8>(record + E_TAG) & TAG_QUEUE) == TAG_FREE || bucketOf(load<u64>(record + E_KEY)) != bucket) return 2;
      if (++chained > fresh) return 3;
      e = load<u32>(record + E_NEXT);
    }
  }
  const coldInRing = ringCheck(coldAt, twoPhase ? capacity : 0, load<u32>(state + S_COLD_HEAD), load<u32>(state + S_COLD_USED), TAG_COLD);
  if (coldInRing < 0) return 4;
  let ghost: u32 = 0;
  for (let slot: u32 = 0; slot < ghostSlots; slot++) if (load<u16>(poolAddr(ghostAt + slot * 2)) != 0) ghost++;
  if (ghost != load<u32>(state + S_GHOST_COUNT)) return 5;
  const hot = ringCheck(hotAt, hotSlots, 0, hotSlots, TAG_HOT);
  if (hot < 0) return 6;
  let cold: u32 = 0;
  for (let e: u32 = 1; e <= fresh; e++) {
    const record = poolAddr(entryAt(e));
    const tag = load<u8>(record + E_TAG) & TAG_QUEUE;
    if (tag == TAG_COLD) cold++;
    const value = load<u32>(record + E_VALUE);
    if ((tag == TAG_COLD || tag == TAG_HOT) != (value != 0)) return 9;
    if (<u32>load<u16>(record + E_LENGTH) > KV_MAX_VALUE) return 9;
    // A value pointing past the record's head is one kept in it, which must fit there (in a format that keeps any).
    if (value == entryAt(e) + ENTRY_HEAD && !fitsRecord(keyLengthOf(record) + load<u16>(record + E_LENGTH))) return 9;
  }
  if ((twoPhase && <u32>coldInRing != cold) || cold != load<u32>(state + S_COLD_COUNT)
    || <u32>hot != load<u32>(state + S_HOT_COUNT) || cold + <u32>hot != chained) return 7;
  let free: u32 = 0;
  for (let e = load<u32>(state + S_FREE); e != 0; e = load<u32>(poolAddr(entryAt(e) + E_NEXT))) {
    if (e > fresh || (load<u8>(poolAddr(entryAt(e) + E_TAG)) & TAG_QUEUE) != TAG_FREE || ++free > fresh) return 8;
  }
  if (free + chained != fresh) return 8;
  if (cold + <u32>hot > capacity || <u32>ghost > ghostSlots) return 10;
  return 0;
}

/** Live entries of `tag` in a ring whose window is [head, head + used); -1 if a slot disagrees with its entry. */
function ringCheck(ring: u32, slots: u32, head: u32, used: u32, tag: u8): i32 {
  if (slots == 0) return used == 0 ? 0 : -1;
  if (head >= slots || used > slots) return -1;
  let live: i32 = 0;
  for (let i: u32 = 0; i < slots; i++) {
    const slot = (head + i) % slots;
    const e = load<u32>(poolAddr(ring + slot * 4));
    if (e == 0) continue;
    if (i >= used) return -1;
    const record = poolAddr(entryAt(e));
    if ((load<u8>(record + E_TAG) & TAG_QUEUE) != tag || (load<u32>(record + E_POS) & POS_MASK) != slot) return -1;
    live++;
  }
  return live;
}
