import { describe, expect, it } from 'vitest';
import { MemoryStore, Pool } from '../host/api/index.js';
import { patternBytes, MiB } from './helpers.js';

describe('smoke', () => {
  it('round trips', async () => {
    const store = new MemoryStore();
    const pool = await Pool.open({ store, size: 4 * MiB, create: true, backgroundFlushMs: 0 });
    const data = patternBytes(100_000, 7);
    pool.write(pool.dataOffset, data);
    await pool.close();
    const again = await Pool.open({ store, backgroundFlushMs: 0 });
    expect(again.read(again.dataOffset, data.length)).toEqual(data);
    expect(again.lastRestore?.cleanShutdown).toBe(true);
    console.log(again.info());
    await again.close();
  });
});
