// Command results: one JSON object on stdout with --json, short text otherwise.
import { PmemError } from '../errors.js';

export interface CommandResult {
  /** The JSON object printed with --json. */
  json: Record<string, unknown>;
  /** Lines printed without --json. */
  text: string[];
  exitCode?: number;
}

function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, v) => (typeof v === 'bigint' ? v.toString() : v));
}

export function printResult(result: CommandResult, json: boolean): void {
  if (json) process.stdout.write(`${toJson(result.json)}\n`);
  else for (const line of result.text) process.stdout.write(`${line}\n`);
}

export function errorResult(command: string, error: unknown): CommandResult {
  if (error instanceof PmemError) {
    return {
      json: { ok: false, command, error: { code: error.code, message: error.message, details: error.details } },
      text: [`wasm-pmem ${command}: ${error.message} (${error.code})`],
      exitCode: error.code === 'EINVAL' ? 2 : 1,
    };
  }
  const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
  return {
    json: { ok: false, command, error: { code: 'EINTERNAL', message } },
    text: [`wasm-pmem ${command}: internal error: ${message}`],
    exitCode: 1,
  };
}

export function formatBytes(bytes: number): string {
  if (bytes >= 2 ** 30) return `${(bytes / 2 ** 30).toFixed(2)} GiB`;
  if (bytes >= 2 ** 20) return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
  if (bytes >= 2 ** 10) return `${(bytes / 2 ** 10).toFixed(1)} KiB`;
  return `${bytes} B`;
}
