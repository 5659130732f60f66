// Miss ratio of a policy on a trace at a cache size, the same way for every policy.
import { LruSimulator } from './lru.js';
import { S3FifoSimulator } from './s3fifo.js';
import { countMisses } from './trace.js';
import { TwoPhaseCache } from './two-phase.js';

export const POLICIES = ['two-phase', 'lru', 's3fifo'] as const;
export type PolicyName = (typeof POLICIES)[number];

export interface ReplayResult {
  policy: PolicyName;
  size: number;
  requests: number;
  misses: number;
  missRatio: number;
}

export async function replay(policy: PolicyName, size: number, ids: Float64Array): Promise<ReplayResult> {
  let misses: number;
  if (policy === 'two-phase') {
    const cache = await TwoPhaseCache.open(size);
    try {
      misses = countMisses(cache, ids);
    } finally {
      await cache.close();
    }
  } else {
    misses = countMisses(policy === 'lru' ? new LruSimulator(size) : new S3FifoSimulator(size), ids);
  }
  return { policy, size, requests: ids.length, misses, missRatio: ids.length === 0 ? 0 : misses / ids.length };
}

/** Unique objects in a trace: the base of percentage sizes. */
export function uniqueObjects(ids: Float64Array): number {
  return new Set(ids).size;
}
