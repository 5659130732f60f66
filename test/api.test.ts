// Misuse of the API gives typed errors and leaves the pool unchanged.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MemoryStore, PmemError, Pool } from '../host/api/index.js';
import { MiB, patternBytes, tempDir } from './helpers.js';

async function codeOf(action: () => unknown): Promise<string | undefined> {
  try {
    await action();
  } catch (error) {
    expect(error).toBeInstanceOf(PmemError);
    return (error as PmemError).code;
  }
  return undefined;
}

describe('api misuse', () => {
  const dir = tempDir();

  it('rejects out-of-range and malformed reads and writes without touching the pool', async () => {
    const pool = await Pool.open({ store: new MemoryStore(), size: MiB, create: true, backgroundFlushMs: 0 });
    pool.write(pool.dataOffset, patternBytes(1000, 1));
    const before = pool.device.pool.slice();
    const bytes = new Uint8Array(16);
    const cases: Array<[string, () => unknown]> = [
      ['EBOUNDS', () => pool.write(0, bytes)], // the header
      ['EBOUNDS', () => pool.write(pool.dataOffset - 8, bytes)], // straddles metadata and data
      ['EBOUNDS', () => pool.write(pool.size - 8, bytes)],
      ['EBOUNDS', () => pool.write(-16, bytes)],
      ['EBOUNDS', () => pool.read(pool.size, 1)],
      ['EBOUNDS', () => pool.flush(pool.size - 1, 2)],
      ['EINVAL', () => pool.write(pool.dataOffset + 0.5, bytes)],
      ['EINVAL', () => pool.write(pool.dataOffset, 'text' as unknown as Uint8Array)],
      ['EINVAL', () => pool.read(pool.dataOffset, -1)],
    ];
    for (const [code, action] of cases) expect(await codeOf(action), action.toString()).toBe(code);
    expect(Buffer.compare(pool.device.pool, before)).toBe(0);
    await pool.close();
    expect(await codeOf(() => pool.read(pool.dataOffset, 1))).toBe('ECLOSED');
    expect(await codeOf(() => pool.checkpoint())).toBe('ECLOSED');
    await pool.close(); // closing twice is harmless
  });

  it('rejects bad open options', async () => {
    const path = join(dir, 'p.pool');
    expect(await codeOf(() => Pool.open({ path }))).toBe('ENOENT');
    expect(await codeOf(() => Pool.open({ path, create: true }))).toBe('EINVAL');
    expect(await codeOf(() => Pool.open({ path, create: true, size: 1000 }))).toBe('EINVAL');
    expect(await codeOf(() => Pool.open({ path, create: true, size: MiB + 1 }))).toBe('EINVAL');
    expect(await codeOf(() => Pool.open({ path, create: true, size: 2 ** 33 }))).toBe('EINVAL');
    expect(await codeOf(() => Pool.open({ path, create: true, size: MiB, device: 'dram' as never }))).toBe('EINVAL');
    expect(await codeOf(() => Pool.open({}))).toBe('EINVAL');
    const pool = await Pool.open({ path, create: true, size: MiB, device: 'eadr', backgroundFlushMs: 0 });
    await pool.close();
    expect(await codeOf(() => Pool.open({ path, device: 'adr' }))).toBe('EDEVICE');
    const again = await Pool.open({ path, backgroundFlushMs: 0 });
    expect(again.info().device).toBe('eadr');
    await again.close();
  });
});
