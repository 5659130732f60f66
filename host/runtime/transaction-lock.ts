// The pool-wide transaction lock: one i32 in the core's control block, shared
// by every thread attached to a pool's memory. The owning thread takes it around
// each transaction and each save, attached workers around each transaction, so
// that journals, commit IDs, the allocator and the image see one writer at a time.
//
// A futex-style mutex (0 free, 1 held, 2 held with waiters): an uncontended take
// and release are one compare-exchange each; a contended one spins a little,
// then waits with Atomics.wait, in slices, up to a bounded time, then fails
// with ETIMEDOUT. `acquireAsync` waits with Atomics.waitAsync instead and never
// blocks its thread. A thread that may not block (a browser's main thread)
// cannot wait in `acquire`: past the spin a transaction fails with EAGAIN, and
// the owner's own saves, power-off and close spin up to the bound.
import { LockBusyError, LockTimeoutError, PmemError } from '../errors.js';

const FREE = 0;
const HELD = 1;
const CONTENDED = 2;
const WAIT_SLICE_MS = 50;
const SPIN_LIMIT = 2000;
const DEFAULT_LOCK_TIMEOUT_MS = 10_000;

/** Whether this thread may block in Atomics.wait (a browser's main thread may not: the call throws). */
function threadMayBlock(): boolean {
  try {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0); // the value differs: returns at once
    return true;
  } catch {
    return false;
  }
}

export class TransactionLock {
  private readonly word: Int32Array;
  /** This thread's holds (a save inside a commit takes it again). */
  private depth = 0;

  constructor(
    buffer: ArrayBufferLike,
    address: number,
    private readonly timeoutMs = DEFAULT_LOCK_TIMEOUT_MS,
    /** Whether `acquire` may wait (by default: whether this thread may block). */
    private readonly mayBlock = threadMayBlock(),
  ) {
    this.word = new Int32Array(buffer, address, 1);
  }

  /**
   * Takes the lock without blocking the thread: a contended take waits with
   * Atomics.waitAsync (or short timers where it is missing), up to the same
   * bound as `acquire`.
   */
  async acquireAsync(): Promise<void> {
    if (this.tryAcquire()) return;
    const deadline = performance.now() + this.timeoutMs;
    let state: number = HELD;
    while (state !== FREE) {
      // Marked CONTENDED, so that the holder's release notifies.
      if (state === HELD) state = Atomics.compareExchange(this.word, 0, HELD, CONTENDED);
      if (state !== FREE) {
        const left = deadline - performance.now();
        if (left <= 0) throw new LockTimeoutError(this.timeoutMs);
        await waitAsyncWhile(this.word, CONTENDED, Math.min(left, WAIT_SLICE_MS));
      }
      state = Atomics.compareExchange(this.word, 0, FREE, CONTENDED);
    }
    this.depth = 1;
  }

  /** Takes the lock if it is free or this thread holds it; whether it did. */
  tryAcquire(): boolean {
    if (this.depth === 0 && Atomics.compareExchange(this.word, 0, FREE, HELD) !== FREE) return false;
    this.depth++;
    return true;
  }

  /** Takes the lock; `busyFails`: on a thread that may not block, a held lock fails with EAGAIN instead of a long spin. */
  acquire(busyFails = false): void {
    if (this.depth > 0) {
      this.depth++;
      return;
    }
    const state = Atomics.compareExchange(this.word, 0, FREE, HELD);
    if (state !== FREE) this.acquireContended(state, busyFails);
    this.depth = 1;
  }

  private acquireContended(state: number, busyFails: boolean): void {
    const deadline = performance.now() + this.timeoutMs;
    let spins = 0;
    let waited = false;
    for (;;) {
      if (state === FREE) {
        // After a wait, taken as CONTENDED: other threads may be waiting too, and the release must wake one.
        state = Atomics.compareExchange(this.word, 0, FREE, waited ? CONTENDED : HELD);
        if (state === FREE) return;
        continue;
      }
      // Transactions hold the lock for microseconds, and a wake-up from Atomics.wait costs about ten: spin first.
      if (spins++ < SPIN_LIMIT) {
        state = Atomics.load(this.word, 0);
        continue;
      }
      if (!this.mayBlock && busyFails) throw new LockBusyError();
      if (state === HELD) {
        state = Atomics.compareExchange(this.word, 0, HELD, CONTENDED);
        if (state !== HELD) continue;
      }
      const left = deadline - performance.now();
      if (left <= 0) throw new LockTimeoutError(this.timeoutMs);
      if (this.mayBlock) Atomics.wait(this.word, 0, CONTENDED, Math.min(left, WAIT_SLICE_MS));
      else spinWhile(this.word, CONTENDED, Math.min(left, WAIT_SLICE_MS));
      waited = true;
      state = Atomics.load(this.word, 0);
    }
  }

  release(): void {
    if (this.depth === 0) throw new PmemError('EINTERNAL', 'the transaction lock is not held');
    if (--this.depth > 0) return;
    // Every waiter wakes, not one: the one woken could be an asynchronous waiter whose thread is busy,
    // and the lock would stay free while the others sleep out their slice (a few threads at most wait).
    if (Atomics.exchange(this.word, 0, FREE) === CONTENDED) Atomics.notify(this.word, 0);
  }
}

function spinWhile(word: Int32Array, value: number, ms: number): void {
  const until = performance.now() + ms;
  while (Atomics.load(word, 0) === value && performance.now() < until) {}
}

/** Resolves once `word` no longer holds `value` (or after `ms`), without blocking the thread. */
async function waitAsyncWhile(word: Int32Array, value: number, ms: number): Promise<void> {
  if (typeof Atomics.waitAsync === 'function') {
    const result = Atomics.waitAsync(word, 0, value, ms);
    if (result.async) await result.value;
  } else if (Atomics.load(word, 0) === value) {
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}
