// Offline verification of a pool file: headers, slot records, every page of
// every complete image, and the pool header inside the newest image.
import { PmemError } from '../errors.js';
import type { BackingStore } from '../store/block-file.js';
import type { ProgressCallback, SlotInfo } from '../store/image-store.js';
import { PoolRuntime } from './pool-runtime.js';

export interface CheckProblem {
  code: string;
  message: string;
  slot?: number;
  page?: number;
}

export interface CheckReport {
  valid: boolean;
  location: string;
  slots: SlotInfo[];
  errors: CheckProblem[];
  warnings: CheckProblem[];
}

function problemOf(error: unknown, slot?: number): CheckProblem {
  if (!(error instanceof PmemError)) throw error;
  const page = typeof error.details.page === 'number' ? error.details.page : undefined;
  return { code: error.code, message: error.message, slot, page };
}

export async function checkPool(store: BackingStore, onProgress?: ProgressCallback): Promise<CheckReport> {
  const report: CheckReport = { valid: false, location: store.location, slots: [], errors: [], warnings: [] };
  let runtime: PoolRuntime;
  try {
    runtime = await PoolRuntime.open(store, { readOnly: true, onProgress });
  } catch (error) {
    report.errors.push(problemOf(error));
    try {
      const image = await PoolRuntime.probe(store);
      report.slots = image.slotInfo();
      image.close();
    } catch {
      // The header itself is unreadable: the error above already says why.
    }
    return report;
  }
  try {
    report.slots = runtime.slots();
    for (const slot of report.slots) {
      if (slot.damagedCopies > 0) {
        report.warnings.push({
          code: 'ERECORDCOPY',
          message: `${slot.damagedCopies} of the 8 record copies of slot ${slot.slot} are damaged; the others are intact`,
          slot: slot.slot,
        });
      }
      if (slot.state === 'writing') {
        report.warnings.push({ code: 'EINTERRUPTED', message: `slot ${slot.slot}: ${slot.problem}`, slot: slot.slot });
      } else if (slot.state === 'invalid' || slot.problem) {
        report.errors.push({ code: 'ECORRUPT', message: `slot ${slot.slot}: ${slot.problem}`, slot: slot.slot });
      }
    }
    // The newest image is in memory: recover it there (nothing is written back) and check the allocator and caches.
    const { badChunk, badCaches } = runtime.checkStructures();
    if (badChunk !== undefined) {
      report.errors.push({ code: 'EHEAP', message: `the allocator metadata of heap chunk ${badChunk} is inconsistent` });
    }
    for (const { offset, invariant } of badCaches) {
      report.errors.push({ code: 'ECACHE', message: `the cache at pool offset ${offset} fails invariant ${invariant}` });
    }
    for (const slot of report.slots) {
      if (slot.state !== 'complete' || slot.problem || slot.slot === runtime.newestSlot) continue;
      try {
        runtime.verifySlot(slot.slot, onProgress);
      } catch (error) {
        report.errors.push(problemOf(error, slot.slot));
      }
    }
  } finally {
    runtime.close();
  }
  report.valid = report.errors.length === 0;
  return report;
}
