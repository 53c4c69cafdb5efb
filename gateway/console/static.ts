/**
 * The console's files, served as they are in the package (gateway/ui/): plain ES modules and CSS, no build
 * step and nothing fetched from elsewhere. From source the folder is beside this one; from the bundled CLI
 * (dist/asya.js) it is ../gateway/ui. The files are public (they hold no data); every read of data they make
 * carries the client token. The content security policy admits scripts, styles and fetches from this origin
 * only.
 */
import { existsSync, readFileSync } from 'node:fs';
import { extname, join, resolve, sep } from 'node:path';
import type { Hono } from 'hono';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

const SECURITY_HEADERS = {
  'Content-Security-Policy': "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-cache',
};

/** The folder holding index.html, or undefined when this installation has none. */
export function consoleDir(): string | undefined {
  const candidates = [join(import.meta.dirname, '../ui'), join(import.meta.dirname, '../gateway/ui')];
  return candidates.find((dir) => existsSync(join(dir, 'index.html')));
}

export function serveConsoleFiles(app: Hono, dir: string): void {
  const root = resolve(dir);
  const file = (relative: string): Response => {
    const path = resolve(root, relative);
    const type = TYPES[extname(path)];
    // Only known kinds of file, and never outside the folder (a path with .. or an encoded slash).
    if (!type || !path.startsWith(root + sep) || !existsSync(path)) {
      return new Response(JSON.stringify({ error: 'Not found' }), { status: 404, headers: { 'Content-Type': 'application/json' } });
    }
    return new Response(readFileSync(path), { headers: { 'Content-Type': type, ...SECURITY_HEADERS } });
  };
  app.get('/ui', (c) => c.redirect('/ui/', 308));
  app.get('/ui/', () => file('index.html'));
  app.get('/ui/*', (c) => {
    let relative: string;
    try {
      relative = decodeURIComponent(c.req.path.slice('/ui/'.length));
    } catch {
      relative = '';
    }
    return file(relative);
  });
}
