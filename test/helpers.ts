import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, onTestFinished } from 'vitest';
import { PmemError } from '../host/api/index.js';

/** A fresh temporary folder, removed after the current test (or, made in a suite's body, after the suite). */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'wasm-pmem-'));
  const remove = () => rmSync(dir, { recursive: true, force: true });
  try {
    onTestFinished(remove); // throws outside a running test
  } catch {
    afterAll(remove);
  }
  return dir;
}

/** Deterministic bytes for a seed, so tests can regenerate what they wrote. */
export { seededBytes as patternBytes } from '../host/device/prng.js';

export const MiB = 1 << 20;

/** The `code` of the typed error `action` throws (it must be a PmemError), or undefined if it throws none. */
export function codeOf(action: () => unknown): string | undefined {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(PmemError);
    return (error as PmemError).code;
  }
  return undefined;
}
