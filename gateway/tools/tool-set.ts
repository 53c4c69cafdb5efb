/** The tools a gateway serves, looked up by name for each call. */
import type { Tool } from './config.ts';

export class ToolSet {
  private readonly byName: Map<string, Tool>;

  constructor(tools: readonly Tool[] = []) {
    this.byName = new Map(tools.map((t) => [t.name, t]));
  }

  get(name: string): Tool | undefined {
    return this.byName.get(name);
  }

  /** Sorted by name, as the original's tools/list. */
  list(): Tool[] {
    return [...this.byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  get size(): number {
    return this.byName.size;
  }
}

const MAX_ECHOED_NAME = 100;

/** A caller's tool name as an error message repeats it: a megabyte of name must not come back whole. */
export function shortened(name: string): string {
  return name.length > MAX_ECHOED_NAME ? `${name.slice(0, MAX_ECHOED_NAME)}... (${name.length} characters)` : name;
}
