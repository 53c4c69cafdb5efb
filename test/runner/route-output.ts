/**
 * Vitest setup file. Components log with process.stderr.write (protocol/log.ts), which vitest forwards as it
 * comes, outside any test. Sending those writes through console instead lets vitest attribute each line to
 * the test (or file) that was running, so the runner shows the output of failing tests only.
 */
type Write = typeof process.stdout.write;

function routeThroughConsole(stream: NodeJS.WriteStream, log: (text: string) => void): void {
  const original = stream.write.bind(stream) as Write;
  let inside = false;
  const routed = (chunk: unknown, ...rest: unknown[]): boolean => {
    // Without vitest's console (or while it writes), console itself ends up here: write through.
    if (inside) return (original as (chunk: unknown, ...rest: unknown[]) => boolean)(chunk, ...rest);
    inside = true;
    try {
      const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8');
      log(text.endsWith('\n') ? text.slice(0, -1) : text);
    } finally {
      inside = false;
    }
    const callback = rest.find((r): r is () => void => typeof r === 'function');
    if (callback) queueMicrotask(callback);
    return true;
  };
  stream.write = routed as Write;
}

const ROUTED = Symbol.for('asya.test.output-routed');
const state = globalThis as { [ROUTED]?: boolean };
if (!state[ROUTED]) {
  state[ROUTED] = true;
  routeThroughConsole(process.stdout, (text) => console.log('%s', text));
  routeThroughConsole(process.stderr, (text) => console.error('%s', text));
}
