/**
 * Registering an endpoint states who may call it, next to its handler: the token guard runs first, then (for
 * methods with a body) the capped body reading, then the handler. What is registered is also the only list of
 * endpoints: the 405 answers for other methods on a known path (as the original gave, instead of a bare
 * 404) are read from the app's routes once every surface has registered its own.
 */
import type { Env, Handler, Hono } from 'hono';
import type { Access, Realm } from './access.ts';
import { errorBody } from './errors.ts';
import { readBody, type BodyLimits, type TooLargeHandler } from './request-body.ts';

type Method = 'GET' | 'HEAD' | 'POST' | 'DELETE';
const WITHOUT_BODY: ReadonlySet<Method> = new Set(['GET', 'HEAD']);

export interface RouteOptions {
  /** Answers a body over the limit; a route may record something first (a too-large final result). */
  onTooLarge?: TooLargeHandler;
}

export class Routes {
  constructor(
    private readonly app: Hono,
    private readonly access: Access,
    private readonly limits: BodyLimits,
  ) {}

  on<P extends string>(methods: Method | Method[], path: P, realm: Realm, handler: Handler<Env, P>, options: RouteOptions = {}): void {
    for (const method of [methods].flat()) {
      // The token is checked before a byte of the body is read.
      if (WITHOUT_BODY.has(method)) this.app.on(method, path, this.access.guard(realm), handler);
      else this.app.on(method, path, this.access.guard(realm), readBody(this.limits, options.onTooLarge), handler);
    }
  }

  get<P extends string>(path: P, realm: Realm, handler: Handler<Env, P>): void {
    this.on('GET', path, realm, handler);
  }

  post<P extends string>(path: P, realm: Realm, handler: Handler<Env, P>, options?: RouteOptions): void {
    this.on('POST', path, realm, handler, options);
  }

  delete<P extends string>(path: P, realm: Realm, handler: Handler<Env, P>): void {
    this.on('DELETE', path, realm, handler);
  }
}

/** Call after every route is registered: any other method on a registered path answers 405 with Allow. */
export function refuseOtherMethods(app: Hono): void {
  const allowed = new Map<string, Set<string>>();
  for (const { path, method } of app.routes) {
    // Middleware for every path (metrics, CORS) is not an endpoint.
    if (method === 'ALL' || path === '*' || path === '/*') continue;
    allowed.set(path, (allowed.get(path) ?? new Set()).add(method));
  }
  for (const [path, methods] of allowed) {
    const list = [...methods].join(', ');
    app.all(path, (c) => {
      c.header('Allow', list);
      return c.json(errorBody(`Method not allowed: ${c.req.method} ${path} (allowed: ${list})`), 405);
    });
  }
}
