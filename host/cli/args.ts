import { InvalidArgumentError } from '../errors.js';

const UNITS: Record<string, number> = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30 };

/** Parses a byte size such as `4096`, `64M`, `64MiB` or `1G`. */
export function parseSize(text: string | undefined, what = 'size'): number {
  const match = /^(\d+)\s*([kmg]?)(i?b)?$/i.exec(text ?? '');
  if (!match) throw new InvalidArgumentError(`${what} must be a byte count such as 4096, 64M or 1G; got ${text}`);
  return Number(match[1]) * UNITS[match[2].toLowerCase()];
}

export function parseMilliseconds(text: string | undefined, what: string): number {
  const value = Number(text);
  if (text === undefined || text === '' || !Number.isFinite(value) || value < 0) {
    throw new InvalidArgumentError(`${what} must be a number of milliseconds >= 0; got ${text}`);
  }
  return value;
}
