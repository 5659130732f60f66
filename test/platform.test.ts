// The BIOS model: AC power loss within a hold-up budget, power restore, and
// background flushing between events.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type PmemError, Pool } from '../host/api/index.js';
import { MiB, patternBytes, tempDir } from './helpers.js';

async function rejection(promise: Promise<unknown>): Promise<PmemError> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: PmemError) => error,
  );
}

describe('platform', () => {
  const dir = tempDir();

  it('reports an incomplete save when the hold-up budget is too small, and restores the previous image', async () => {
    const path = join(dir, 'budget.pool');
    const pool = await Pool.open({ path, size: 32 * MiB, create: true, backgroundFlushMs: 0 });
    const before = patternBytes(pool.dataSize, 1);
    const after = patternBytes(pool.dataSize, 2);
    pool.write(pool.dataOffset, before);
    await pool.checkpoint();
    pool.write(pool.dataOffset, after);

    const report = await pool.platform.acPowerLoss({ holdUpMs: 0 });
    expect(report).toMatchObject({ complete: false, holdUpMs: 0 });
    expect(report.unsavedBytes).toBeGreaterThan(0);
    expect(() => pool.read(pool.dataOffset, 1)).toThrow(expect.objectContaining({ code: 'EPOWEROFF' }));
    expect(() => pool.write(pool.dataOffset, after)).toThrow(expect.objectContaining({ code: 'EPOWEROFF' }));
    expect((await rejection(pool.platform.acPowerLoss({ holdUpMs: 10 }))).code).toBe('EPOWEROFF');

    const restore = await pool.platform.powerRestore();
    expect(restore.cleanShutdown).toBe(false);
    expect(Buffer.compare(pool.read(pool.dataOffset, pool.dataSize), before)).toBe(0);
    await pool.close();
    const reopened = await Pool.open({ path, backgroundFlushMs: 0 });
    expect(Buffer.compare(reopened.read(reopened.dataOffset, reopened.dataSize), before)).toBe(0);
    await reopened.close();
  });

  it.each(['adr', 'eadr', 'nvdimm-n'] as const)('saves everything durable within an ample budget (%s)', async (device) => {
    const path = join(dir, `${device}.pool`);
    const pool = await Pool.open({ path, size: 8 * MiB, create: true, device, backgroundFlushMs: 0 });
    const data = patternBytes(pool.dataSize, 3);
    pool.write(pool.dataOffset, data);
    const report = await pool.platform.acPowerLoss({ holdUpMs: 30_000 });
    expect(report.complete).toBe(true);
    expect(report.unsavedBytes).toBe(0);
    expect(pool.device.counters().bytesSaved).toBeGreaterThanOrEqual(report.savedBytes);
    await pool.platform.powerRestore();
    expect(Buffer.compare(pool.read(pool.dataOffset, pool.dataSize), data)).toBe(0);
    await pool.close();
  });

  it('loses unflushed stores on adr at power loss, keeps them on eadr', async () => {
    for (const device of ['adr', 'eadr'] as const) {
      const pool = await Pool.open({ path: join(dir, `unflushed-${device}.pool`), size: 2 * MiB, create: true, device, backgroundFlushMs: 0 });
      const bytes = patternBytes(256, 4).map((b) => b | 1);
      pool.write(pool.dataOffset, bytes, { persist: false });
      await pool.platform.acPowerLoss({ holdUpMs: 30_000 });
      await pool.platform.powerRestore();
      const survived = Buffer.compare(pool.read(pool.dataOffset, bytes.length), bytes) === 0;
      expect(survived, device).toBe(device === 'eadr');
      await pool.close();
    }
  });

  it('flushes dirty pages in the background so the AC-loss save has nothing left', async () => {
    const pool = await Pool.open({ path: join(dir, 'bg.pool'), size: 8 * MiB, create: true, backgroundFlushMs: 20 });
    const start = pool.info().generation;
    pool.write(pool.dataOffset, patternBytes(4 * MiB, 5));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(pool.info().generation).toBeGreaterThan(start);
    const report = await pool.platform.acPowerLoss({ holdUpMs: 30_000 });
    expect(report).toMatchObject({ complete: true, savedBytes: 0 });
    await pool.platform.powerRestore();
    await pool.close();
  });

  it('rejects a bad hold-up budget', async () => {
    const pool = await Pool.open({ path: join(dir, 'bad.pool'), size: MiB, create: true, backgroundFlushMs: 0 });
    for (const holdUpMs of [-1, Number.NaN, Infinity, '10' as unknown as number]) {
      expect((await rejection(pool.platform.acPowerLoss({ holdUpMs }))).code).toBe('EINVAL');
    }
    expect(pool.platform.poweredOn).toBe(true);
    await pool.close();
  });
});
