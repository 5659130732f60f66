import type { ProgressCallback } from '../store/image-store.js';

const WIDTH = 30;

/** A progress bar on stderr when it is a terminal; nothing otherwise (so `--json` output stays clean). */
export function progressBar(label: string, stream: NodeJS.WriteStream = process.stderr): ProgressCallback | undefined {
  if (!stream.isTTY) return undefined;
  let lastDraw = 0;
  return (done, total) => {
    const now = Date.now();
    if (done < total && now - lastDraw < 100) return;
    lastDraw = now;
    const fraction = total === 0 ? 1 : done / total;
    const filled = Math.round(fraction * WIDTH);
    const mib = (n: number) => (n / 2 ** 20).toFixed(0);
    stream.write(
      `\r${label} [${'#'.repeat(filled)}${'.'.repeat(WIDTH - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}% ` +
        `${mib(done)}/${mib(total)} MiB${done >= total ? '\n' : ''}`,
    );
  };
}
