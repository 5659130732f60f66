import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

/** The folder holding wasm-pmem's package.json, found from this module's location (source or dist). */
export function packageRoot(): string {
  if (cached) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && JSON.parse(readFileSync(manifest, 'utf8')).name === 'wasm-pmem') {
      return (cached = dir);
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error('wasm-pmem: cannot find the package root');
    dir = parent;
  }
}
