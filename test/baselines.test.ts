// The cache baselines (host/cachesim, run side by side by bench/cache.mjs and `cachesim`) against the reference counts measured with
// libCacheSim and lru-cache (shared/traces/REFERENCE.md, next to this repository).
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LruSimulator } from '../host/cachesim/lru.js';
import { S3FifoSimulator } from '../host/cachesim/s3fifo.js';
import { countMisses, readTrace } from '../host/cachesim/trace.js';

const traces = join(import.meta.dirname, '..', '..', 'shared', 'traces');
const cloudPhysics = () => readTrace(join(traces, 'cloudPhysicsIO.ids.txt.gz'));

describe('cache baselines', () => {
  it('reads the cloudPhysicsIO trace: 113,872 requests, 48,974 objects', () => {
    const ids = cloudPhysics();
    expect(ids.length).toBe(113_872);
    expect(new Set(ids).size).toBe(48_974);
  });

  it("reproduces lru-cache's exact miss counts on cloudPhysicsIO at every reference size", () => {
    const ids = cloudPhysics();
    const reference: Array<[number, number]> = [
      [48, 102_823], [146, 98_784], [489, 95_420], [1469, 94_544],
      [4897, 91_657], [9794, 82_547], [19_589, 72_063], [39_179, 48_999],
    ];
    for (const [size, misses] of reference) expect(countMisses(new LruSimulator(size), ids), `size ${size}`).toBe(misses);
  });

  it("reproduces libCacheSim's exact S3-FIFO miss counts on cloudPhysicsIO, both thresholds", () => {
    const ids = cloudPhysics();
    const sizes = [48, 146, 489, 1469, 4897, 9794, 19_589, 39_179];
    const thr2 = [99_810, 95_954, 94_559, 93_158, 85_691, 77_208, 70_339, 49_004];
    const thr1 = [99_972, 95_986, 94_346, 93_464, 85_066, 76_513, 64_663, 57_447];
    sizes.forEach((size, i) => {
      expect(countMisses(new S3FifoSimulator(size, 2), ids), `thr=2 size ${size}`).toBe(thr2[i]);
      expect(countMisses(new S3FifoSimulator(size, 1), ids), `thr=1 size ${size}`).toBe(thr1[i]);
    });
  });

  it('reproduces the reference counts on a classic trace (cache2k-web07), including the admit-nothing artefact', () => {
    const ids = readTrace(join(traces, 'cache2k-web07.ids.txt.gz'));
    expect(ids.length).toBe(76_118);
    expect([20, 204, 2048].map((size) => countMisses(new LruSimulator(size), ids))).toEqual([59_890, 46_321, 33_747]);
    expect([20, 204, 2048].map((size) => countMisses(new S3FifoSimulator(size, 2), ids))).toEqual([59_069, 42_788, 31_879]);
    const cpp = readTrace(join(traces, 'lirs-cpp.ids.txt.gz'));
    expect(countMisses(new S3FifoSimulator(12, 2), cpp)).toBe(cpp.length); // a small queue of one object admits nothing
  });
});
