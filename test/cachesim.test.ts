// wasm-pmem cachesim: trace replay from the command line, with the baselines
// beside the two-phase cache and an SVG plot.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from './helpers.js';

const bin = join(import.meta.dirname, '..', 'bin', 'wasm-pmem.js');
const traces = join(import.meta.dirname, '..', '..', 'shared', 'traces');
const cachesim = (...args: string[]) => spawnSync(process.execPath, [bin, 'cachesim', ...args], { encoding: 'utf8' });

describe('cachesim', () => {
  it("prints one JSON report; LRU at 1% of cloudPhysicsIO gives lru-cache's exact count", () => {
    const result = cachesim('--trace', join(traces, 'cloudPhysicsIO.ids.txt.gz'), '--size', '1%', '--policy', 'lru', '--json');
    expect(result.status).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({
      trace: 'cloudPhysicsIO.ids.txt.gz', policy: 'lru', size: 489, requests: 113_872, misses: 95_420, missRatio: 95_420 / 113_872,
    });
  });

  it('replays the two-phase cache and plots every policy by size', () => {
    const plot = join(tempDir(), 'sprite.svg');
    const result = cachesim('--trace', join(traces, 'lirs-sprite.ids.txt.gz'), '--size', '707', '--plot', plot, '--json');
    expect(result.status).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report).toMatchObject({ trace: 'lirs-sprite.ids.txt.gz', policy: 'two-phase', size: 707, requests: 133_996, plot });
    // At 10% of this trace the two-phase cache stays within 0.005 of LRU (reference LRU: 0.1352), and no policy beats Belady (0.0864).
    expect(report.missRatio).toBeGreaterThan(0.0864);
    expect(report.missRatio).toBeLessThanOrEqual(0.1352 + 0.005);
    const svg = readFileSync(plot, 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.match(/<polyline/g)).toHaveLength(3);
    for (const policy of ['two-phase', 'lru', 's3fifo']) expect(svg).toContain(`>${policy}</text>`);
  });

  it('rejects a missing trace, an unknown policy and a bad size with EINVAL', () => {
    const trace = join(traces, 'lirs-cpp.ids.txt.gz');
    for (const args of [['--size', '10'], ['--trace', trace, '--size', '10', '--policy', 'arc'], ['--trace', trace, '--size', '1'], ['--trace', trace, '--size', 'ten']]) {
      const result = cachesim(...args, '--json');
      expect(result.status, args.join(' ')).toBe(2);
      expect(JSON.parse(result.stdout).error.code).toBe('EINVAL');
    }
  });
});
