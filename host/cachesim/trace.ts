// Cache traces in the format of shared/traces/*.ids.txt.gz: gzip of one
// decimal object id a line (plain text is read too).
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

/** A cache policy under replay: `access` returns true on a hit; a miss admits the id. */
export interface CachePolicy {
  access(id: number): boolean;
}

/** The trace's object ids, in request order. */
export function readTrace(path: string): Float64Array {
  const raw = readFileSync(path);
  const text = (raw[0] === 0x1f && raw[1] === 0x8b ? gunzipSync(raw) : raw).toString('latin1');
  const ids = new Float64Array(Math.ceil(text.length / 2) + 1);
  let count = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      value = value * 10 + (c - 48);
      digits++;
    } else if (digits > 0) {
      ids[count++] = value;
      value = 0;
      digits = 0;
    }
  }
  if (digits > 0) ids[count++] = value;
  return ids.subarray(0, count);
}

/** Replays `ids` against a policy; returns the number of misses. */
export function countMisses(policy: CachePolicy, ids: ArrayLike<number>): number {
  let misses = 0;
  for (let i = 0; i < ids.length; i++) if (!policy.access(ids[i])) misses++;
  return misses;
}
