import type { Connection } from '../core/connection.js';

// One target machine, with everything needed to connect to it and the vars roles read.
export interface Host extends Connection {
  /** Name in the inventory (what --limit, the recap and --json use). */
  name: string;
  /** Every group the host belongs to, 'all' first, then ancestors before descendants. */
  groups: readonly string[];
  /** Merged vars (see src/inventory/README precedence); secret-looking values are Secret. */
  vars: Record<string, unknown>;
}

// A named group of hosts with its own vars and child groups.
export interface Group {
  name: string;
  hosts: string[];
  children: string[];
  vars: Record<string, unknown>;
}

// The result of reading an inventory source.
export interface Inventory {
  /** The file (or EC2 spec) it was read from. */
  source: string;
  hosts: Host[];
  groups: Map<string, Group>;
  /** Only when asked for one host (`explainHost`): its var layers, lowest precedence first. */
  origins?: Array<{ layer: string; block: { values: Record<string, unknown>; location: { file: string | undefined; lineOf(name: string): number | undefined; context?: string } } }>;
}
