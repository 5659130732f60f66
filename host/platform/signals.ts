// Maps operating-system power signals onto the AC-loss path: SIGPWR is what UPS
// daemons send when mains power fails; SIGTERM is what a shutting-down system sends.
import type { Platform, PowerLossReport } from './platform.js';

export interface SignalHandlerOptions {
  /** Hold-up budget for the save. Default 2000 ms. */
  holdUpMs?: number;
  signals?: NodeJS.Signals[];
  /** Called with the report; by default the process then exits (0 if the save completed, 1 if not). */
  onPowerLoss?: (report: PowerLossReport, signal: NodeJS.Signals) => void;
  exit?: boolean;
}

/** Installs the handlers and returns a function that removes them. */
export function installSignalHandlers(platform: Platform, options: SignalHandlerOptions = {}): () => void {
  const signals = options.signals ?? (['SIGPWR', 'SIGTERM'] as NodeJS.Signals[]);
  const holdUpMs = options.holdUpMs ?? 2000;
  const handler = async (signal: NodeJS.Signals) => {
    if (!platform.poweredOn) return;
    const report = await platform.acPowerLoss({ holdUpMs });
    options.onPowerLoss?.(report, signal);
    if (options.exit ?? true) process.exit(report.complete ? 0 : 1);
  };
  for (const signal of signals) process.on(signal, handler);
  return () => {
    for (const signal of signals) process.off(signal, handler);
  };
}
