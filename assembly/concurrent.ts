// Concurrent redo transactions: bodies on several threads at once, commits
// one at a time under the pool's transaction lock (the seeds' lock on the commit
// ID, patents.md §4), in the optimistic style of TL2.
//
// A concurrent transaction stages its redo images in its thread's own buffer
// (never in a journal, so a power outage or recovery never meets a journal a
// body still writes), and reads the pool in place. Once any thread has begun a
// concurrent transaction, every redo commit stamps the stripes of the lines it
// applies with its commit ID before it writes them. A read checks the stripes
// of its lines before and after copying: a stamp newer than the transaction's
// begin means a commit wrote there since, and the transaction is doomed (the
// host reruns it). Stripes read are logged, and the commit, holding the lock,
// checks them again. Undo transactions, raw stores and power outages write in
// place without stamps; they move the write sequence, which the reads and the
// commit check too.
import {
  APPLIED_ADDRESS, APPLY_SEQUENCE_ADDRESS, CONCURRENT_USED_ADDRESS, LINE_SHIFT, STRIPE_BITS, VERSIONS_BASE,
  WRITE_SEQUENCE_ADDRESS, concurrentArea, poolAddr,
} from "./layout";
import { load32, load64, loadFence, store32, store64 } from "./atomics";
import { copyBytes } from "./bytes";

// The thread's concurrent area: state words, the read log, then the redo record.
const DOOMED: u32 = 0; // i32 the host reads after each read: CONFLICT or TOO_MANY_READS once doomed
const READ_LOG: u32 = 64;
const READ_LOG_END: u32 = 16 << 10;
export const CONCURRENT_RECORD: u32 = READ_LOG_END; // the redo record (header, then entries)

const CONFLICT: i32 = 1; // a commit, undo transaction, raw store or outage wrote what it read: run again
const TOO_MANY_READS: i32 = 2; // its read log is full: run it holding the lock instead

let open = false;
let readVersion: u64 = 0; // every commit at or below it had applied its writes when the transaction began
let writeSequence: u32 = 0;
let readLogEnd: usize = 0;

@inline export function concurrentOpen(): bool {
  return open;
}

@inline function stripeAt(line: u32): usize {
  return VERSIONS_BASE + ((<usize>((line * 0x9e3779b1) >>> (32 - STRIPE_BITS))) << 3);
}

function doom(reason: i32): void {
  const flag = concurrentArea() + DOOMED;
  if (load<i32>(flag) == 0) store<i32>(flag, reason);
}

/** Linear address of this thread's doomed flag (0 while its concurrent transaction may commit). */
export function tx_doomed_at(): usize {
  return concurrentArea() + DOOMED;
}

/** Linear address of this thread's redo record for a concurrent transaction. */
export function concurrentRecord(): usize {
  return concurrentArea() + CONCURRENT_RECORD;
}

/** Spins a begin waits for a commit's apply or an undo transaction to end (an apply takes microseconds). */
const BEGIN_SPINS: u32 = 4000;

/** Whether `address` held an even u32 within BEGIN_SPINS reads; its last value in `lastSeen`. */
let lastSeen: u32 = 0;
function settlesEven(address: usize): bool {
  for (let spin: u32 = 0; spin < BEGIN_SPINS; spin++) {
    lastSeen = load32(address);
    if ((lastSeen & 1) == 0) return true;
  }
  return false;
}

/**
 * Begins a concurrent transaction's snapshot; false (nothing begun) when a
 * commit's apply or an undo transaction did not end within a bounded spin:
 * the host then runs the transaction holding the lock, whose waits are bounded.
 */
export function concurrentBegin(): bool {
  // Marked used before the snapshot is taken: a commit that starts applying after this reads the mark and
  // stamps; one applying now is waited out, and one already done has published its ID in APPLIED.
  if (load32(CONCURRENT_USED_ADDRESS) == 0) store32(CONCURRENT_USED_ADDRESS, 1);
  if (!settlesEven(WRITE_SEQUENCE_ADDRESS)) return false;
  writeSequence = lastSeen;
  if (!settlesEven(APPLY_SEQUENCE_ADDRESS)) return false;
  readVersion = load64(APPLIED_ADDRESS);
  store<i32>(concurrentArea() + DOOMED, 0);
  readLogEnd = concurrentArea() + READ_LOG;
  open = true;
  return true;
}

export function concurrentEnd(): void {
  open = false;
}

/** Whether every stripe of lines [first, last] is unwritten since the transaction began; logs them when `log`. */
function stripesUnchanged(first: u32, last: u32, log: bool): bool {
  for (let line = first; line <= last; line++) {
    const stripe = stripeAt(line);
    if (load64(stripe) > readVersion) return false;
    if (!log || (readLogEnd > concurrentArea() + READ_LOG && load<u32>(readLogEnd - 4) == <u32>stripe)) continue;
    if (readLogEnd == concurrentArea() + READ_LOG_END) {
      doom(TOO_MANY_READS);
      return true;
    }
    store<u32>(readLogEnd, <u32>stripe);
    readLogEnd += 4;
  }
  return true;
}

/** Copies pool bytes [offset, offset + length) to `dst` for the open concurrent transaction, dooming it if they moved. */
export function concurrentRead(offset: u32, length: u32, dst: usize): void {
  const first = offset >> LINE_SHIFT;
  const last = (offset + length - 1) >> LINE_SHIFT;
  if (!stripesUnchanged(first, last, true)) doom(CONFLICT);
  copyBytes(dst, poolAddr(offset), length);
  loadFence(concurrentArea() + DOOMED);
  if (!stripesUnchanged(first, last, false) || load32(WRITE_SEQUENCE_ADDRESS) != writeSequence) doom(CONFLICT);
}

/**
 * Whether the open concurrent transaction read only what no commit, undo
 * transaction, raw store or outage has written since it began: final under the
 * transaction lock, just before its commit; without it, as of now.
 */
export function concurrentValid(): bool {
  loadFence(concurrentArea() + DOOMED); // the transaction's reads before these checks
  if (load<i32>(concurrentArea() + DOOMED) != 0 || load32(WRITE_SEQUENCE_ADDRESS) != writeSequence) return false;
  if (load64(APPLIED_ADDRESS) == readVersion) return true;
  for (let at = concurrentArea() + READ_LOG; at < readLogEnd; at += 4) {
    if (load64(<usize>load<u32>(at)) > readVersion) return false;
  }
  return true;
}

/** Whether commits must stamp the lines they apply (read after the apply sequence turned odd, before applying). */
export function stampsNeeded(): bool {
  return load32(CONCURRENT_USED_ADDRESS) != 0;
}

/** Marks lines [offset, offset + length) as written by commit `id`, before the commit writes them. */
export function stampLines(offset: u32, length: u32, id: u64): void {
  const last = (offset + length - 1) >> LINE_SHIFT;
  for (let line = offset >> LINE_SHIFT; line <= last; line++) store64(stripeAt(line), id);
}

/** After stamping a commit's lines: orders the stamps before its plain stores in place (the committer's own word). */
export function stampsFence(): void {
  loadFence(concurrentArea() + DOOMED);
}

/** Recovery: commit IDs may restart lower, so old stamps are cleared (open transactions are doomed by the write sequence). */
export function clearStamps(): void {
  memory.fill(VERSIONS_BASE, 0, 8 << STRIPE_BITS);
}
