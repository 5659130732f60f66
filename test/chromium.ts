// Real headless Chromium for the browser tests: Debian's chromium (.ci/run
// installs it), started as a child process that a test may SIGKILL, and driven
// over the DevTools protocol by playwright-core.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { type BrowserContext, chromium } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

// Without the background-networking flags, Chromium's connections to its own services fail in a closed network.
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--remote-debugging-port=0',
];

export interface RunningChromium {
  /** The profile's browser context: its pages share one origin private file system, kept in the profile folder. */
  readonly context: BrowserContext;
  readonly process: ChildProcess;
  /** Closes the browser and waits for its process to end. */
  close(): Promise<void>;
  /** SIGKILLs the browser and every process it started, and waits for the browser's to end. */
  kill(): Promise<void>;
}

/** Browsers still running: killed if this test process exits without closing them. */
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) killGroup(child, 'SIGKILL');
});

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    // already gone
  }
}

const START_TIMEOUT_MS = 30_000;
const CLOSE_GRACE_MS = 5_000;

/** Starts Chromium on the profile in `userDataDir` (created if missing). */
export async function launchChromium(userDataDir: string): Promise<RunningChromium> {
  const child = spawn(CHROMIUM, [...FLAGS, `--user-data-dir=${userDataDir}`, 'about:blank'], {
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true, // its own process group, so that a kill reaches its renderers and utility processes too
  });
  running.add(child);
  const exited = once(child, 'exit').then(() => running.delete(child));
  const kill = async () => {
    killGroup(child, 'SIGKILL');
    await exited;
  };
  try {
    const endpoint = await new Promise<string>((resolve, reject) => {
      let output = '';
      const timer = setTimeout(() => reject(new Error(`chromium did not listen within ${START_TIMEOUT_MS} ms:\n${output}`)), START_TIMEOUT_MS);
      child.stderr!.setEncoding('utf8');
      child.stderr!.on('data', (chunk: string) => {
        if (output.length < 1 << 16) output += chunk;
        const listening = /DevTools listening on (ws:\/\/\S+)/.exec(output);
        if (listening) {
          clearTimeout(timer);
          resolve(listening[1]);
        }
      });
      child.once('error', (error) => reject(new Error(`cannot start ${CHROMIUM} (apt-get install chromium): ${error.message}`)));
      child.once('exit', (code, signal) => reject(new Error(`chromium ended (${code ?? signal}) before it listened:\n${output}`)));
    });
    const browser = await chromium.connectOverCDP(endpoint);
    return {
      context: browser.contexts()[0],
      process: child,
      async close() {
        await browser.close().catch(() => {});
        killGroup(child, 'SIGTERM');
        const grace = setTimeout(() => killGroup(child, 'SIGKILL'), CLOSE_GRACE_MS);
        await exited;
        clearTimeout(grace);
      },
      kill,
    };
  } catch (error) {
    await kill();
    throw error;
  }
}
