// A static server for the browser demo and the browser tests: serves the
// package's web/, dist/ and build/ folders cross-origin isolated (COOP/COEP),
// which browsers require before they share WebAssembly memory with Workers.
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, sep } from 'node:path';

const SERVED_FOLDERS = ['web', 'dist', 'build'];
const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',
  '.map': 'application/json',
};
const ISOLATION_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cache-Control': 'no-store',
};

export interface WebServer {
  /** The demo page's address. */
  readonly url: string;
  close(): Promise<void>;
}

/** Serves `root` (the package root) on 127.0.0.1:`port` (0: any free port). */
export async function startWebServer(root: string, port = 0): Promise<WebServer> {
  const server = createServer(async (request, response) => {
    let path: string;
    try {
      path = normalize(decodeURIComponent(new URL(request.url ?? '/', 'http://localhost').pathname)).replace(/^[/\\]+/, '');
    } catch {
      response.writeHead(400, ISOLATION_HEADERS).end(); // a malformed escape
      return;
    }
    if (path === '' || path === '.') {
      response.writeHead(302, { Location: '/web/index.html' }).end();
      return;
    }
    const type = CONTENT_TYPES[extname(path)];
    if (!type || !SERVED_FOLDERS.includes(path.split(sep)[0]) || path.split(sep).includes('..')) {
      response.writeHead(404, ISOLATION_HEADERS).end();
      return;
    }
    try {
      const body = await readFile(join(root, path));
      response.writeHead(200, { ...ISOLATION_HEADERS, 'Content-Type': type }).end(body);
    } catch {
      response.writeHead(404, ISOLATION_HEADERS).end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${bound}/web/index.html`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
