import { it } from 'vitest';
import { crashtest } from '../host/runtime/crashtest/explorer.js';
it('sweep', async () => {
  for (const seed of [2, 3, 4, 5, 6, 7])
    for (const log of ['redo', 'undo'] as const)
      for (const workload of ['bank', 'alloc', 'mixed'] as const) {
        const r = await crashtest({ workload, device: 'adr', log, states: 1500, seed });
        console.log('SWEEP', JSON.stringify(r));
      }
}, 3_600_000);
