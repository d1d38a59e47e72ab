// A table keyed by names that come from inventories and config files (hosts, jobs): it has no
// prototype, so a host named "__proto__" or "constructor" is an entry like any other.
export function nameTable<T>(entries: Iterable<readonly [string, T]> = []): Record<string, T> {
  const table = Object.create(null) as Record<string, T>;
  for (const [name, value] of entries) table[name] = value;
  return table;
}
