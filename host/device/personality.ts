import { InvalidArgumentError } from '../errors.js';

/**
 * Device personalities and their persistence domains:
 * - `adr`: only flushed and fenced lines are durable (the write pending queues are
 *   drained by ADR on power failure); unflushed lines may or may not survive.
 * - `eadr`: CPU caches are inside the domain; every completed store is durable.
 * - `nvdimm-n`: DRAM that the platform saves to the backing store on AC loss; a
 *   process killed without warning falls back to the last saved image.
 */
export const DEVICE_PERSONALITIES = ['adr', 'eadr', 'nvdimm-n'] as const;
export type DevicePersonality = (typeof DEVICE_PERSONALITIES)[number];

/** The personality's code in the pool header (same order as the core's DEVICE_* constants). */
export function personalityCode(personality: DevicePersonality): number {
  return DEVICE_PERSONALITIES.indexOf(personality);
}

export function personalityFromCode(code: number): DevicePersonality {
  const personality = DEVICE_PERSONALITIES[code];
  if (personality === undefined) throw new InvalidArgumentError(`unknown device code ${code}`);
  return personality;
}

export function parsePersonality(value: unknown): DevicePersonality {
  if (typeof value === 'string' && (DEVICE_PERSONALITIES as readonly string[]).includes(value)) {
    return value as DevicePersonality;
  }
  throw new InvalidArgumentError(`device must be one of ${DEVICE_PERSONALITIES.join(', ')}; got ${String(value)}`, {
    device: value,
  });
}
