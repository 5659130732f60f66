// An attached Worker: sets cache entries and counts in transactions on the pool
// another Worker owns, only counts, or holds the transaction lock until the page lets go.
import { AttachedPool } from '../dist/host/api/browser.js';
import { serve } from './messages.js';

let pool;

const increment = (tx) => tx.setU64(tx.root, tx.getU64(tx.root) + 1n);

serve({
  async attach({ handle }) {
    pool = await AttachedPool.attach(handle);
    return { slot: pool.slot };
  },
  work({ prefix, operations }) {
    const kv = pool.kv('visits');
    for (let i = 0; i < operations; i++) {
      kv.set(`${prefix}:${i}`, `value ${i} from ${prefix}`);
      if (kv.getString(`${prefix}:${i}`) !== `value ${i} from ${prefix}`) throw new Error(`${prefix}:${i} reads back wrong`);
      pool.txSync(increment);
    }
    return { operations };
  },
  count({ transactions }) {
    for (let i = 0; i < transactions; i++) pool.txSync(increment);
    return { transactions };
  },
  // Holds the lock inside a transaction until `gate[0]` turns 1 (the page's go-ahead).
  hold({ gate }) {
    const word = new Int32Array(gate);
    pool.txSync(() => {
      Atomics.store(word, 1, 1);
      Atomics.notify(word, 1);
      Atomics.wait(word, 0, 0, 10_000);
    });
    return {};
  },
  detach() {
    pool.detach();
    return {};
  },
});
