/**
 * esbuild plugins that keep code a bundle never runs out of it: less to read, compile and hold at every start
 * (bench/cold-start, bench/memory, bench/krm). Used by krm-functions/build.ts and cli/build.ts.
 */
import { dirname, join } from 'node:path';
import type { Plugin } from 'esbuild';

/**
 * Every package stays an import from node_modules (esbuild's `packages: 'external'`) except `bundled`, which
 * go inside. For the full image, whose node_modules ship beside the bundle, but where a package of many small
 * ES modules costs every start one file read and one module link each.
 */
export function externalPackagesExcept(bundled: readonly string[]): Plugin {
  return {
    name: 'external-packages-except',
    setup(build) {
      build.onResolve({ filter: /^[^./]/ }, (args) => {
        if (args.kind === 'entry-point') return undefined;
        const parts = args.path.split('/');
        const name = args.path.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
        return bundled.includes(name) ? undefined : { path: args.path, external: true };
      });
    },
  };
}

/**
 * zod's namespace re-exports every locale's messages (about 360 KB of the 750 KB zod puts in a bundle), and
 * a namespace cannot be tree-shaken. Asya only ever reports in English, which zod configures by default; the
 * `locales` namespace keeps `en` alone.
 */
export const zodEnglishOnly: Plugin = {
  name: 'zod-english-only',
  setup(build) {
    build.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) => {
      if (!/[/\\]node_modules[/\\]zod[/\\]/.test(args.importer)) return undefined;
      return { path: join(args.resolveDir, '../locales/index.js'), namespace: 'zod-english-only' };
    });
    build.onLoad({ filter: /.*/, namespace: 'zod-english-only' }, (args) => ({
      contents: 'export { default as en } from "./en.js";\n',
      resolveDir: dirname(args.path),
      loader: 'js',
    }));
  },
};

/**
 * A transport plugin loads its broker's client on connect (`await import('./rabbitmq.ts')`). A bundle that only
 * reads plugins' settings and writes their pods' environment and KEDA triggers (the KRM functions) never
 * connects, so each such import becomes a module that throws: no amqplib, AWS SDK or NATS client inside.
 */
export const noBrokerClients: Plugin = {
  name: 'no-broker-clients',
  setup(build) {
    build.onResolve({ filter: /.*/ }, (args) => {
      if (args.kind !== 'dynamic-import' || !/[/\\]transport[/\\][^/\\]+[/\\]plugin\.ts$/.test(args.importer)) return undefined;
      return { path: args.path, namespace: 'no-broker-clients' };
    });
    build.onLoad({ filter: /.*/, namespace: 'no-broker-clients' }, (args) => ({
      contents: `throw new Error(${JSON.stringify(`this bundle carries no broker client (${args.path}): it cannot connect`)});\n`,
      loader: 'js',
    }));
  },
};
