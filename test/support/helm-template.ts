/**
 * A renderer for the subset of Helm's Go templates that `asya synth --format helm` writes (charts-ts/helm-chart.ts),
 * because no `helm` binary can be installed here. It refuses anything outside the subset instead of guessing:
 *
 *   {{ .Values.a.b }}  {{ . }}           a value (dot-relative, as in Go templates: inside `with`, `.` is the value)
 *   {{ "{{" }}                           a string constant (how the chart prints braces of its own)
 *   {{ X | toYaml | nindent N }}          pipelines of toYaml, nindent N, indent N, quote (also `toYaml X`)
 *   {{- with X }} … {{- end }}           X non-empty: the body with `.` = X
 *   {{- if X }} … {{- end }}             X non-empty: the body
 *   {{- … -}}                            trim the whitespace before / after the action
 *
 * Emptiness is Go's: false, 0, "", nil, an empty list or map. A path to a missing value is an error (Helm would
 * print nothing; a typo should fail the test, not pass it). toYaml is Helm's: the YAML without its last newline.
 */
import YAML from 'yaml';

type Node = { text: string } | { expr: string } | { block: 'with' | 'if'; expr: string; body: Node[] };

const ACTION = /\{\{(-?)\s*([\s\S]*?)\s*(-?)\}\}/g;

function parse(template: string): Node[] {
  const root: Node[] = [];
  const stack: { body: Node[] }[] = [{ body: root }];
  let last = 0;
  let trimNext = false;
  const top = () => stack[stack.length - 1]!.body;
  for (const match of template.matchAll(ACTION)) {
    let text = template.slice(last, match.index);
    if (trimNext) text = text.replace(/^\s+/, '');
    if (match[1] === '-') text = text.replace(/\s+$/, '');
    if (text) top().push({ text });
    trimNext = match[3] === '-';
    last = match.index + match[0].length;
    const action = match[2]!;
    const block = /^(with|if)\s+(.+)$/.exec(action);
    if (block) {
      const node = { block: block[1] as 'with' | 'if', expr: block[2]!, body: [] as Node[] };
      top().push(node);
      stack.push(node);
    } else if (action === 'end') {
      if (stack.length === 1) throw new Error('{{ end }} without an open with/if');
      stack.pop();
    } else {
      top().push({ expr: action });
    }
  }
  if (stack.length !== 1) throw new Error('a with/if block is not closed with {{ end }}');
  let text = template.slice(last);
  if (trimNext) text = text.replace(/^\s+/, '');
  if (text) root.push({ text });
  return root;
}

function lookup(dot: unknown, term: string): unknown {
  if (term === '.') return dot;
  if (!/^(\.[A-Za-z_][\w-]*)+$/.test(term)) throw new Error(`unsupported term "${term}"`);
  let value = dot;
  for (const key of term.slice(1).split('.')) {
    if (typeof value !== 'object' || value === null || !(key in value)) throw new Error(`no value at "${term}"`);
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

const toYaml = (value: unknown) => YAML.stringify(value).replace(/\n$/, '');
const indent = (n: number, text: string) => text.split('\n').map((line) => ' '.repeat(n) + line).join('\n');

function apply(fn: string, args: string[], input: unknown, hasInput: boolean, dot: unknown): unknown {
  const operands = [...args.map((a) => (/^\d+$/.test(a) ? Number(a) : lookup(dot, a))), ...(hasInput ? [input] : [])];
  switch (fn) {
    case 'toYaml':
      return toYaml(operands[0]);
    case 'nindent':
      return `\n${indent(operands[0] as number, String(operands[1]))}`;
    case 'indent':
      return indent(operands[0] as number, String(operands[1]));
    case 'quote':
      return JSON.stringify(String(operands[0]));
    default:
      throw new Error(`unsupported function "${fn}"`);
  }
}

function evaluate(expr: string, dot: unknown): unknown {
  let value: unknown;
  expr.split('|').forEach((part, i) => {
    const [head = '', ...args] = part.trim().split(/\s+/);
    if (i === 0 && /^"[^"]*"$/.test(part.trim())) {
      value = JSON.parse(part.trim()) as string;
    } else if (head.startsWith('.')) {
      if (i > 0 || args.length > 0) throw new Error(`unsupported pipeline "${expr}"`);
      value = lookup(dot, head);
    } else {
      value = apply(head, args, value, i > 0, dot);
    }
  });
  return value;
}

const empty = (v: unknown) =>
  v === undefined || v === null || v === false || v === 0 || v === '' || (Array.isArray(v) && v.length === 0) || (typeof v === 'object' && v !== null && Object.keys(v).length === 0);

function print(value: unknown, expr: string): string {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw new Error(`{{ ${expr} }} prints a ${value === null ? 'null' : typeof value}, not a scalar (use toYaml)`);
}

function renderNodes(nodes: Node[], dot: unknown): string {
  return nodes
    .map((node) => {
      if ('text' in node) return node.text;
      if ('expr' in node && !('block' in node)) return print(evaluate(node.expr, dot), node.expr);
      const value = evaluate(node.expr, dot);
      if (empty(value)) return '';
      return renderNodes(node.body, node.block === 'with' ? value : dot);
    })
    .join('');
}

/** The text of one template with `.Values`, `.Release` and `.Chart` as Helm sets them. */
export function renderTemplate(template: string, context: { Values: unknown; Release?: unknown; Chart?: unknown }): string {
  return renderNodes(parse(template), context);
}

/** Deep merge of user values over the chart's defaults, as Helm does for `-f values.yaml` (lists replace). */
export function mergeValues(defaults: unknown, overrides: unknown): unknown {
  if (typeof defaults !== 'object' || defaults === null || Array.isArray(defaults) || typeof overrides !== 'object' || overrides === null || Array.isArray(overrides)) {
    return overrides === undefined ? defaults : overrides;
  }
  const out: Record<string, unknown> = { ...(defaults as Record<string, unknown>) };
  for (const [key, value] of Object.entries(overrides)) out[key] = mergeValues(out[key], value);
  return out;
}
