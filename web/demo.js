// The page: attaches to the pool a Worker owns, runs two more Workers on it, and
// counts in transactions itself. The page's thread may not block: its `tx` waits
// for the transaction lock asynchronously, and its `txSync` fails with EAGAIN
// instead of blocking while another thread holds the lock.
import { AttachedPool } from '../dist/host/api/browser.js';
import { request } from './messages.js';

const params = new URLSearchParams(location.search);
const POOL_NAME = params.get('pool') ?? 'demo.pool';
const OPERATIONS = Number(params.get('operations') ?? 2000);
const PAGE_TRANSACTIONS = 200;

const logArea = document.querySelector('#log');
const log = (line) => {
  logArea.textContent += `${line}\n`;
};
const counter = (tx) => tx.getU64(tx.root);
const increment = (tx) => tx.setU64(tx.root, tx.getU64(tx.root) + 1n);
const newWorker = (file) => new Worker(new URL(file, import.meta.url), { type: 'module' });

async function run() {
  if (!crossOriginIsolated) throw new Error('the page is not cross-origin isolated (serve it with COOP/COEP: wasm-pmem web)');
  const owner = newWorker('./owner-worker.js');
  const { handle, created } = await request(owner, { type: 'open', name: POOL_NAME });
  const pool = await AttachedPool.attach(handle);
  const before = await pool.tx(counter);
  log(created ? `created the pool ${POOL_NAME} on OPFS` : `reopened the pool ${POOL_NAME}: counter at ${before}, from earlier visits`);

  const workers = [newWorker('./kv-worker.js'), newWorker('./kv-worker.js')];
  for (const worker of workers) await request(worker, { type: 'attach', handle });

  // The two Workers and the page count at the same time.
  const started = performance.now();
  const work = workers.map((worker, i) => request(worker, { type: 'work', prefix: `visit${before}-w${i}`, operations: OPERATIONS }));
  for (let i = 0; i < PAGE_TRANSACTIONS; i++) await pool.tx(increment);
  await Promise.all(work);
  const after = await pool.tx(counter);
  const expected = before + BigInt(2 * OPERATIONS + PAGE_TRANSACTIONS);
  log(`2 workers x ${OPERATIONS} sets and transactions + ${PAGE_TRANSACTIONS} page transactions in ${(performance.now() - started).toFixed(0)} ms: counter ${after} (expected ${expected})`);

  // A Worker holds the lock: the page's txSync fails at once, its tx waits without blocking the page.
  const gate = new SharedArrayBuffer(8);
  const word = new Int32Array(gate);
  const held = request(workers[0], { type: 'hold', gate });
  const holding = Atomics.waitAsync(word, 1, 0, 5000);
  if (holding.async) await holding.value;
  let busyCode;
  try {
    pool.txSync(increment);
  } catch (error) {
    busyCode = error.code;
  }
  const waiting = pool.tx(increment);
  Atomics.store(word, 0, 1);
  Atomics.notify(word, 0);
  await Promise.all([held, waiting]);
  log(`while a worker held the lock, the page's txSync failed with ${busyCode} and its tx waited asynchronously`);

  const final = await pool.tx(counter);
  const kv = pool.kv('visits');
  kv.check(); // throws ECORRUPT if a hash-table or queue invariant fails
  const { cold, hot } = kv.stats();
  const saved = await request(owner, { type: 'save' });
  log(`saved to OPFS (${saved.kind} save, ${saved.savedBytes} bytes); the cache holds ${cold + hot} entries, its invariants hold`);

  for (const worker of workers) await request(worker, { type: 'detach' });
  pool.detach();
  await request(owner, { type: 'close' });
  for (const worker of [...workers, owner]) worker.terminate();
  log('closed: reload the page to reopen the pool');
  return { created, before: Number(before), after: Number(after), expected: Number(expected), busyCode, final: Number(final), entries: cold + hot };
}

window.demoResult = run().catch((error) => {
  log(`failed: ${error.message}`);
  return { error: { message: error.message, code: error.code } };
});
