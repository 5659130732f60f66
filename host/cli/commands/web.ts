// web: serves the browser demo (a pool on OPFS owned by a Worker, with the page
// and two more Workers attached) until interrupted.
import { packageRoot } from '../../core/package-root.js';
import { InvalidArgumentError } from '../../errors.js';
import { startWebServer } from '../../web/web-server.js';
import type { CommandResult } from '../output.js';
import type { CommandArgs } from './command.js';

export async function web(args: CommandArgs): Promise<CommandResult> {
  const port = Number(args.values.port ?? 8080);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidArgumentError(`--port must be 0 to 65535; got ${args.values.port}`);
  const server = await startWebServer(packageRoot(), port);
  process.stdout.write(`serving the browser demo at ${server.url} (Ctrl-C stops)\n`);
  await new Promise<void>((resolve) => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => resolve());
  });
  await server.close();
  return { json: { ok: true, command: 'web', url: server.url }, text: ['stopped'] };
}
