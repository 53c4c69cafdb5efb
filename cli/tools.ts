/** `asya tools`: the gateway's tools (MCP tools/list) with the arguments `asya call` takes for each. */
import { parseOptions } from './client/parse-options.ts';
import { CliError, EXIT } from './client/exit-codes.ts';
import { gatewayFrom, type JsonSchema, type ToolInfo } from './client/gateway-client.ts';
import { errorText } from '../protocol/errors.ts';

export const TOOLS_USAGE = `Usage: asya tools [options]

Lists the tools the gateway offers (MCP tools/list) and the arguments of each, as 'asya call' takes them.

Options:
  --json               Print the tools as JSON (name, description, inputSchema)
  --gateway <url>      The gateway (default: ASYA_GATEWAY_URL, else http://127.0.0.1:8089 where asya dev runs)
  --token <token>      Bearer token (default: ASYA_GATEWAY_API_TOKEN, else ASYA_GATEWAY_TOKEN)
  -h, --help           Show this help

Exit codes: 0 listed, 2 usage, 3 gateway unreachable, 5 gateway error.`;

function typeOf(schema: JsonSchema): string {
  if (schema.enum) return schema.enum.map((v) => JSON.stringify(v)).join('|');
  if (schema.type === 'array' && schema.items?.type) return `${schema.items.type}[]`;
  return schema.type ?? 'any';
}

export function describeTools(tools: ToolInfo[]): string {
  if (tools.length === 0) return 'The gateway offers no tools (is its tools.yaml configured?).\n';
  const blocks = tools.map((tool) => {
    const properties = Object.entries(tool.inputSchema.properties ?? {});
    const required = new Set(tool.inputSchema.required ?? []);
    const flags = properties.map(([name, schema]) => `--${name} <${typeOf(schema)}>`);
    const width = Math.max(0, ...flags.map((f) => f.length));
    const lines = properties.map(([name, schema], i) => {
      const notes = [
        required.has(name) ? 'required' : undefined,
        schema.default !== undefined ? `default ${JSON.stringify(schema.default)}` : undefined,
      ].filter(Boolean);
      return `    ${flags[i]!.padEnd(width)}  ${[schema.description, notes.length > 0 ? `(${notes.join(', ')})` : ''].filter(Boolean).join(' ')}`.trimEnd();
    });
    return [`${tool.name}${tool.description ? ` — ${tool.description}` : ''}`, ...(lines.length > 0 ? lines : ['    (no arguments)'])].join('\n');
  });
  return `${blocks.join('\n\n')}\n`;
}

export async function runTools(argv: string[], env: Record<string, string | undefined> = process.env): Promise<number> {
  let parsed;
  try {
    parsed = parseOptions({
      args: argv,
      allowPositionals: false,
      options: {
        json: { type: 'boolean', default: false },
        gateway: { type: 'string' },
        token: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    throw new CliError(EXIT.usage, `${errorText(err)}\n\n${TOOLS_USAGE}`);
  }
  const { values } = parsed;
  if (values.help) {
    process.stdout.write(`${TOOLS_USAGE}\n`);
    return EXIT.ok;
  }
  const tools = await gatewayFrom(values, env).listTools();
  process.stdout.write(values.json ? `${JSON.stringify(tools, null, 2)}\n` : describeTools(tools));
  return EXIT.ok;
}
