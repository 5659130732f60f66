// Reads a cache trace in the format of shared/traces/*.ids.txt.gz: gzip of one
// decimal object id a line.
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

/** The trace's object ids, in request order. */
export function readTrace(path) {
  const text = gunzipSync(readFileSync(path)).toString('latin1');
  const ids = new Float64Array(text.length / 2);
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

/** Replays `ids` against a policy (`access(id)` returns true on a hit); returns the number of misses. */
export function countMisses(policy, ids) {
  let misses = 0;
  for (let i = 0; i < ids.length; i++) if (!policy.access(ids[i])) misses++;
  return misses;
}
