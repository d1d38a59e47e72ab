import { readFileSync } from 'node:fs';
import { SourceMap, type SourceMapPayload } from 'node:module';
import { fileURLToPath } from 'node:url';

// Source maps of the playbook bundles this process imported, by bundle path, parsed only when an
// error needs a line. On globalThis: the loader (the CLI's bundle) and the define functions a
// playbook calls (halyard's public entry) may be two copies of this module.
const REGISTRY = Symbol.for('halyard.playbook.source-maps');
type Entry = { mapFile: string } | { payload: SourceMapPayload } | { map: SourceMap | null };

function registry(): Map<string, Entry> {
  const holder = globalThis as Record<symbol, Map<string, Entry> | undefined>;
  return (holder[REGISTRY] ??= new Map());
}

// Remembers where a bundle's source map is (a file beside it, or the map itself when the bundle
// was a temporary file), so stack frames in it can be told in the playbook's own files and lines.
export function registerSourceMap(bundleFile: string, map: { mapFile: string } | { payload: SourceMapPayload }): void {
  registry().set(bundleFile, map);
}

// The playbook or role file and line a position in a bundle came from; null for the bundler's own
// helpers (no source), undefined outside bundles.
export function originalPosition(file: string, line: number, column: number): { file: string; line: number } | null | undefined {
  const path = file.startsWith('file://') ? fileURLToPath(file) : file;
  const entries = registry();
  const entry = entries.get(path);
  if (entry === undefined) return undefined;
  let map: SourceMap | null;
  if ('map' in entry) map = entry.map;
  else {
    try {
      map = new SourceMap('payload' in entry ? entry.payload : (JSON.parse(readFileSync(entry.mapFile, 'utf8')) as SourceMapPayload));
    } catch {
      map = null;
    }
    entries.set(path, { map });
  }
  const found = map?.findEntry(line - 1, Math.max(0, column - 1)) as { originalSource?: string; originalLine?: number } | undefined;
  if (found?.originalSource === undefined || found.originalLine === undefined) return null;
  return { file: found.originalSource.startsWith('file://') ? fileURLToPath(found.originalSource) : found.originalSource, line: found.originalLine + 1 };
}
