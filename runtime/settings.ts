/**
 * The runtimes' settings (the original Python runtime's names, docs/compatibility.md). The Node runtime reads its
 * table with the engine; asya_runtime.py is stdlib-only and reads the same names by hand, which
 * runtime/settings.test.ts checks against RUNTIME_SETTINGS, the table docs/configuration.md shows.
 */
import { ENABLE_VALIDATION, HANDLER_MODE, LOG_FORMAT, LOG_LEVEL, MAX_FRAME_BYTES, PARENT_PIPE_FD_SETTING, SOCKET_DIR } from '../protocol/settings.ts';
import { custom, int, settingsTable, string, type Kind, type RetiredSetting } from '../settings/index.ts';

/** Octal like Python's int(x, 8): "0o660", "0660" and "660"; empty means "do not chmod". */
export const socketModeKind: Kind<number | undefined> = {
  describe: 'octal mode',
  parse(raw) {
    if (raw === '') return undefined;
    const digits = raw.replace(/^0o/i, '');
    if (!/^[0-7]{1,4}$/.test(digits)) throw new Error('expected an octal mode such as 0o660');
    return parseInt(digits, 8);
  },
  format: (mode) => (mode === undefined ? '' : `0o${mode.toString(8)}`),
};

/** What both runtimes read; the messages are the original's, word for word. */
const SHARED = {
  handler: string({
    env: 'ASYA_HANDLER',
    doc: 'Python: `module.function` or `module.Class.method`, found on `PYTHONPATH`. Node: `file#export` or `file#Class.method`, the file resolved from the working directory (`.js .mjs .cjs .ts .mts .cts`). A class is instantiated once, without arguments. A value that cannot be loaded stops the runtime with one `FATAL:` line and exit code 1',
    required: 'the handler to load',
    messages: {
      missing: 'ASYA_HANDLER not set: give the asya-runtime container of the AsyncActor an env entry ASYA_HANDLER=<file>#<export> (or <file>#<Class>.<method>)',
    },
  }),
  mode: HANDLER_MODE,
  socketDir: SOCKET_DIR,
  socketName: string({ env: 'ASYA_SOCKET_NAME', doc: 'for tests; the sidecar always connects to the default name', default: 'asya-runtime.sock' }),
  socketMode: custom(socketModeKind, {
    env: 'ASYA_SOCKET_CHMOD',
    doc: 'octal mode of the socket (`0o660`, `0660` and `660` all work); empty: leave it as created. The original used `0666`',
    default: 0o660,
    keepEmpty: true,
  }),
  validate: ENABLE_VALIDATION,
  maxFrameBytes: MAX_FRAME_BYTES,
  logLevel: LOG_LEVEL,
  logFormat: LOG_FORMAT,
  parentPipeFd: PARENT_PIPE_FD_SETTING,
};

/** The original runtime's variables that mean nothing here; asya_runtime.py warns about the same ones. */
const RETIRED: readonly RetiredSetting[] = [
  { env: 'ASYA_READY_FILE', action: 'warn', reason: 'the ready file is always `runtime-ready` in `ASYA_SOCKET_DIR`' },
  { env: 'ASYA_INCLUDE_METADATA', action: 'warn', reason: 'never implemented by the original; `ASYA_HANDLER_MODE=envelope` hands the handler the whole envelope' },
  { env: 'ASYA_CUDA_CLEANUP_ON_OOM', action: 'warn', reason: 'never implemented, here or in the original' },
];

export const NODE_RUNTIME_SETTINGS = settingsTable('runtime-node', SHARED, RETIRED);

export const RUNTIME_SETTINGS = settingsTable('runtime', {
  ...SHARED,
  workers: int({
    env: 'ASYA_RUNTIME_WORKERS',
    doc: "Python only: pre-fork this many worker processes on one socket, each with its own handler instance. Match the sidecar's `ASYA_CONCURRENCY`",
    default: 1,
    min: 1,
  }),
  chunkSize: int({ env: 'ASYA_CHUNK_SIZE', doc: 'Python only: the largest single socket read, in bytes', default: 65536, min: 1 }),
}, RETIRED);
