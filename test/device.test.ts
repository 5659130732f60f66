// The NVDIMM model's persistence-domain rules, per personality.
import { describe, expect, it } from 'vitest';
import { type DevicePersonality, MemoryStore, Pool } from '../host/api/index.js';
import { MiB, patternBytes } from './helpers.js';

const LINE = 64;

async function openPool(device: DevicePersonality) {
  return Pool.open({ store: new MemoryStore(), size: MiB, create: true, device, backgroundFlushMs: 0 });
}

/** Classifies a crashed line: every 8-byte unit must be wholly old (zero) or wholly new. */
function classify(image: Uint8Array, offset: number, written: Uint8Array): 'new' | 'old' | 'torn' {
  let fresh = 0;
  for (let unit = 0; unit < LINE; unit += 8) {
    const got = image.subarray(offset + unit, offset + unit + 8);
    if (got.every((b, i) => b === written[unit + i])) fresh++;
    else if (!got.every((b) => b === 0)) throw new Error(`unit ${unit} of line ${offset} is neither old nor new`);
  }
  return fresh === LINE / 8 ? 'new' : fresh === 0 ? 'old' : 'torn';
}

describe('adr device', () => {
  it('keeps flushed+fenced lines; unflushed lines may or may not survive, torn only at 8 bytes', async () => {
    const pool = await openPool('adr');
    const base = Math.ceil(pool.dataOffset / LINE) * LINE;
    const fenced = base, unflushed = base + 4096, flushedOnly = base + 8192, untouched = base + 12288;
    const bytes = patternBytes(LINE, 42).map((b) => b | 1); // no zero byte, so old and new always differ
    pool.write(fenced, bytes);
    pool.write(unflushed, bytes, { persist: false });
    pool.write(flushedOnly, bytes, { persist: false });
    pool.flush(flushedOnly, LINE);
    const seen = { unflushed: new Set<string>(), flushedOnly: new Set<string>() };
    for (let seed = 1; seed <= 300; seed++) {
      const image = pool.device.crash({ seed });
      expect(classify(image, fenced, bytes), `seed ${seed}`).toBe('new');
      expect(classify(image, untouched, bytes), `seed ${seed}`).toBe('old');
      seen.unflushed.add(classify(image, unflushed, bytes));
      seen.flushedOnly.add(classify(image, flushedOnly, bytes));
    }
    expect([...seen.unflushed].sort()).toEqual(['new', 'old', 'torn']);
    expect([...seen.flushedOnly].sort()).toEqual(['new', 'old', 'torn']);
    await pool.close();
  });

  it('gives the same crash image for the same seed', async () => {
    const pool = await openPool('adr');
    for (let i = 0; i < 64; i++) pool.write(pool.dataOffset + i * 4096, patternBytes(100, i), { persist: false });
    // Buffer.compare: vitest's deep equality is slow on megabyte arrays.
    expect(Buffer.compare(pool.device.crash({ seed: 9 }), pool.device.crash({ seed: 9 }))).toBe(0);
    expect(Buffer.compare(pool.device.crash({ seed: 9 }), pool.device.crash({ seed: 10 }))).not.toBe(0);
    await pool.close();
  });

  it('queues fenced lines in the WPQs; a flush-hint write drains them to the media', async () => {
    const pool = await openPool('adr');
    const offset = Math.ceil(pool.dataOffset / LINE) * LINE;
    const bytes = patternBytes(LINE, 1).map((b) => b | 1);
    const before = pool.device.counters();
    const queued = pool.device.queuedLines();
    pool.write(offset, bytes);
    expect(pool.device.counters().hostCalls - before.hostCalls).toBe(1); // one call per fence, not per line
    expect(pool.device.queuedLines()).toBe(queued + 1);
    expect(pool.device.media!.subarray(offset, offset + LINE).every((b) => b === 0)).toBe(true);
    expect(classify(pool.device.crash({ seed: 1 }), offset, bytes)).toBe('new'); // ADR drains WPQs at power failure
    pool.flushHint();
    expect(pool.device.queuedLines()).toBe(0);
    expect(pool.device.media!.subarray(offset, offset + LINE)).toEqual(bytes);
    expect(pool.device.counters().flushHints - before.flushHints).toBe(1);
    await pool.close();
  });

  it('drains the oldest line when a write pending queue overflows', async () => {
    const pool = await openPool('adr');
    const offset = Math.ceil(pool.dataOffset / 4096) * 4096;
    const lines = 300;
    pool.write(offset, patternBytes(lines * LINE, 3).map((b) => b | 1), { persist: false });
    pool.flush(offset, lines * LINE);
    pool.fence();
    expect(pool.device.queuedLines()).toBeLessThanOrEqual(2 * 64);
    expect(pool.device.media!.subarray(offset, offset + LINE).every((b) => b !== 0)).toBe(true);
    expect(pool.device.counters().linesFlushed).toBeGreaterThanOrEqual(lines);
    await pool.close();
  });

  it('does not count a host call for a fence with nothing flushed', async () => {
    const pool = await openPool('adr');
    const before = pool.device.counters();
    pool.fence();
    const after = pool.device.counters();
    expect(after.fences - before.fences).toBe(1);
    expect(after.hostCalls).toBe(before.hostCalls);
    await pool.close();
  });
});

describe.each(['eadr', 'nvdimm-n'] as const)('%s device', (device) => {
  it('keeps every completed store, flushed or not, and needs no host call per fence', async () => {
    const pool = await openPool(device);
    const offset = Math.ceil(pool.dataOffset / LINE) * LINE;
    const bytes = patternBytes(LINE * 10, 5).map((b) => b | 1);
    const before = pool.device.counters();
    pool.write(offset, bytes, { persist: false });
    pool.write(offset + 4096, bytes);
    for (let seed = 1; seed <= 50; seed++) {
      const image = pool.device.crash({ seed });
      expect(image.subarray(offset, offset + bytes.length)).toEqual(bytes);
      expect(image.subarray(offset + 4096, offset + 4096 + bytes.length)).toEqual(bytes);
    }
    const after = pool.device.counters();
    expect(after.fences - before.fences).toBe(1);
    expect(after.hostCalls).toBe(before.hostCalls);
    await pool.close();
  });
});

describe('nvdimm-n device', () => {
  it('falls back to the last saved image when the process dies without warning', async () => {
    const store = new MemoryStore();
    const pool = await Pool.open({ store, size: MiB, create: true, device: 'nvdimm-n', backgroundFlushMs: 0 });
    const saved = patternBytes(5000, 1);
    pool.write(pool.dataOffset, saved);
    await pool.checkpoint();
    pool.write(pool.dataOffset, patternBytes(5000, 2)); // never saved: the process "dies" here
    const reopened = await Pool.open({ store, backgroundFlushMs: 0 });
    expect(reopened.read(reopened.dataOffset, saved.length)).toEqual(saved);
    expect(reopened.lastRestore?.cleanShutdown).toBe(false);
    await reopened.close();
  });
});
