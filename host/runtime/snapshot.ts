// Snapshots: a pool's newest complete image copied into a new image file, and back.
import type { BackingStore } from '../store/block-file.js';
import type { ProgressCallback } from '../store/image-store.js';
import { PoolRuntime } from './pool-runtime.js';

export interface CopyReport {
  from: string;
  to: string;
  bytes: number;
  generation: number;
  durationMs: number;
}

/**
 * Verifies the newest image of `from` and writes it as a new image file at `to`.
 * `to` appears only once complete; an existing file is replaced only with `replace`.
 */
export async function copyImage(
  from: BackingStore,
  to: BackingStore,
  options: { replace?: boolean; onProgress?: ProgressCallback } = {},
): Promise<CopyReport> {
  const started = performance.now();
  const runtime = await PoolRuntime.open(from, { readOnly: true, onProgress: options.onProgress });
  try {
    const release = to.lock(); // a pool in use is never replaced
    try {
      runtime.exportTo(to, { replace: options.replace });
    } finally {
      release();
    }
    return {
      from: from.location,
      to: to.location,
      bytes: runtime.poolSize,
      generation: runtime.lastRestore!.generation,
      durationMs: performance.now() - started,
    };
  } finally {
    runtime.close();
  }
}
