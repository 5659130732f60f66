// The Wasm core on its own: checksums, the embedding ABI, and instantiation
// under Node's built-in WASI.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { WASI } from 'node:wasi';
import { describe, expect, it } from 'vitest';
import { KV_MAX_KEY_BYTES, KV_MAX_NAME_BYTES, KV_MAX_VALUE_BYTES } from '../host/api/index.js';
import { createCoreMemory, ensureMemory, instantiateCore } from '../host/core/core.js';

const build = join(import.meta.dirname, '..', 'build');
const ascii = (text: string) => new TextEncoder().encode(text);

describe('core', () => {
  it('computes reference xxHash64 values', async () => {
    const memory = createCoreMemory();
    const core = await instantiateCore(memory, { drainRing() {}, flushHint() {} });
    const scratch = core.SCRATCH_BASE.value;
    const hash = (bytes: Uint8Array, seed = 0n) => {
      new Uint8Array(memory.buffer, scratch, bytes.length).set(bytes);
      return core.xxh64(scratch, bytes.length, seed);
    };
    expect(hash(ascii(''))).toBe(0xef46db3751d8e999n);
    expect(hash(ascii('a'))).toBe(0xd24ec4f1a98c6e5bn);
    expect(hash(ascii('abc'))).toBe(0x44bc2cf5ad770999n);
    expect(hash(ascii('Nobody inspects the spammish repetition'))).toBe(0xfbcea83c8a378bf1n);
  });

  it("publishes the core's cache limits unchanged in the API", async () => {
    const core = await instantiateCore(createCoreMemory(), { drainRing() {}, flushHint() {} });
    expect([KV_MAX_KEY_BYTES, KV_MAX_VALUE_BYTES, KV_MAX_NAME_BYTES]).toEqual([
      core.KV_MAX_KEY.value, core.KV_MAX_VALUE.value, core.KV_MAX_NAME.value,
    ]);
  });

  it('imports one shared memory and two persistence hooks, nothing else', () => {
    const module = new WebAssembly.Module(readFileSync(join(build, 'core.wasm')));
    const imports = WebAssembly.Module.imports(module).sort((a, b) => a.name.localeCompare(b.name));
    expect(imports).toEqual([
      { module: 'env', name: 'memory', kind: 'memory' },
      { module: 'env', name: 'pm_drain_ring', kind: 'function' },
      { module: 'env', name: 'pm_flush_hint', kind: 'function' },
    ]);
    const wat = readFileSync(join(build, 'core.wat'), 'utf8');
    expect(wat).toMatch(/\(import "env" "memory" \(memory \$0 2 65536 shared\)\)/);
  });

  it('builds a no-threads flavour with a plain memory and no atomics', () => {
    const wat = readFileSync(join(build, 'core-nothreads.wat'), 'utf8');
    expect(wat).toMatch(/\(import "env" "memory" \(memory \$0 2 65536\)\)/);
    expect(wat).not.toMatch(/atomic/);
  });

  it('instantiates under node:wasi and formats a pool', async () => {
    const memory = createCoreMemory();
    ensureMemory(memory, 131072 + (1 << 20));
    const wasi = new WASI({ version: 'preview1', args: [], env: {}, returnOnExit: true });
    const module = new WebAssembly.Module(readFileSync(join(build, 'core.wasm')));
    const instance = new WebAssembly.Instance(module, {
      env: { memory, pm_drain_ring() {}, pm_flush_hint() {} },
      wasi_snapshot_preview1: wasi.wasiImport,
    });
    wasi.initialize(instance);
    const core = instance.exports as Record<string, (...args: unknown[]) => unknown>;
    const dataOffset = core.pool_format(BigInt(1 << 20), 1);
    expect(core.pool_check_header(BigInt(1 << 20))).toBe(0);
    expect(Number(dataOffset)).toBeGreaterThan(0);
  });
});
