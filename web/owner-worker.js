// Owns the demo's pool: opens it on OPFS (creating it on the first visit), creates
// its cache and its counter, hands the page the pool's memory, saves on request.
import { OpfsStore, Pool } from '../dist/host/api/browser.js';
import { serve } from './messages.js';

const POOL_BYTES = 8 << 20;
let store;
let pool;

serve({
  async open({ name }) {
    store = await OpfsStore.open(name);
    const created = !store.exists();
    pool = await Pool.open({ store, create: true, size: POOL_BYTES });
    pool.kv('visits', { capacity: 50_000 });
    // The root points at one u64: the page's transactions count there.
    await pool.tx((tx) => {
      if (tx.root === 0) tx.root = tx.alloc(8);
    });
    return { handle: pool.workerHandle(), created, lastCommitId: pool.lastCommitId };
  },
  async save() {
    const report = await pool.checkpoint();
    return { kind: report.kind, savedBytes: report.savedBytes };
  },
  async close() {
    await pool.close();
    store.close();
    return {};
  },
});
