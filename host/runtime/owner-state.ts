// The owner's pool state as attached threads see it: one i32 in the core's
// control block, on a line of its own (it changes only when the owner closes
// its pool, loses power or regains it), so that every lookup on any thread can
// check it without pulling a busy line.
import { PmemError, PoolClosedError, PowerOffError } from '../errors.js';

const STATES = { running: 0, closed: 1, off: 2 } as const;
export type OwnerState = keyof typeof STATES;

export class SharedOwnerState {
  private readonly word: Int32Array;

  constructor(buffer: ArrayBufferLike, address: number) {
    this.word = new Int32Array(buffer, address, 1);
  }

  set(state: OwnerState): void {
    Atomics.store(this.word, 0, STATES[state]);
  }

  /** Throws ECLOSED or EPOWEROFF unless the owner's pool is running. */
  assertRunning(): void {
    const state = Atomics.load(this.word, 0);
    if (state === STATES.running) return;
    if (state === STATES.closed) throw new PoolClosedError();
    if (state === STATES.off) throw new PowerOffError();
    throw new PmemError('EINTERNAL', `unknown owner state ${state}`);
  }
}
