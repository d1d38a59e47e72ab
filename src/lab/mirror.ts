import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

// The Debian mirrors hosts use: the same ones this machine's apt already reaches.
export interface DebianMirrors {
  /** Archive mirror for `<suite>` and `<suite>-updates`, e.g. http://deb.debian.org/debian */
  archive: string;
  /** Mirror for `<suite>-security`, when this machine has one configured. */
  security: string | undefined;
}

// The fallback when this machine's apt sources name no Debian archive.
export const DEFAULT_DEBIAN_MIRROR = 'http://deb.debian.org/debian';

// One apt source entry, whatever file format it came from.
export interface AptSourceEntry {
  types: string[];
  uris: string[];
  suites: string[];
  components: string[];
}

// Parses a deb822 `.sources` file (blank-line separated stanzas; `Enabled: no` stanzas dropped).
export function parseDeb822Sources(text: string): AptSourceEntry[] {
  const entries: AptSourceEntry[] = [];
  for (const stanza of text.split(/\n\s*\n/)) {
    const fields = new Map<string, string>();
    let last: string | undefined;
    for (const raw of stanza.split('\n')) {
      if (raw.startsWith('#')) continue;
      if (/^\s/.test(raw) && last) {
        fields.set(last, `${fields.get(last) ?? ''} ${raw.trim()}`);
        continue;
      }
      const match = /^([A-Za-z0-9-]+):\s*(.*)$/.exec(raw);
      if (!match?.[1]) continue;
      last = match[1].toLowerCase();
      fields.set(last, match[2] ?? '');
    }
    if ((fields.get('enabled') ?? 'yes').trim().toLowerCase() === 'no') continue;
    const words = (key: string) => (fields.get(key) ?? '').split(/\s+/).filter(Boolean);
    if (!fields.has('uris')) continue;
    entries.push({ types: words('types'), uris: words('uris'), suites: words('suites'), components: words('components') });
  }
  return entries;
}

// Parses one-line `deb [opts] URI SUITE COMPONENTS...` sources (sources.list format).
export function parseOneLineSources(text: string): AptSourceEntry[] {
  const entries: AptSourceEntry[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '').trim();
    const match = /^(deb|deb-src)\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)\s*(.*)$/.exec(line);
    if (!match?.[1] || !match[2] || !match[3]) continue;
    entries.push({
      types: [match[1]],
      uris: [match[2]],
      suites: [match[3]],
      components: (match[4] ?? '').split(/\s+/).filter(Boolean),
    });
  }
  return entries;
}

// Picks the archive and security mirrors for `suite` from parsed entries (first match wins).
export function pickMirrors(entries: readonly AptSourceEntry[], suite: string): DebianMirrors {
  let archive: string | undefined;
  let security: string | undefined;
  for (const entry of entries) {
    if (!entry.types.includes('deb')) continue;
    const uri = entry.uris.find((u) => /^https?:\/\//.test(u));
    if (!uri) continue;
    const clean = uri.replace(/\/+$/, '');
    if (!archive && entry.suites.includes(suite)) archive = clean;
    if (!security && entry.suites.includes(`${suite}-security`)) security = clean;
  }
  return { archive: archive ?? DEFAULT_DEBIAN_MIRROR, security };
}

// Reads this machine's apt sources (/etc/apt/sources.list.d/*.sources and *.list, /etc/apt/sources.list).
export async function detectDebianMirrors(suite = 'bookworm', aptDir = '/etc/apt'): Promise<DebianMirrors> {
  const entries: AptSourceEntry[] = [];
  const listDir = join(aptDir, 'sources.list.d');
  let names: string[] = [];
  try {
    names = (await readdir(listDir)).sort();
  } catch {
    names = [];
  }
  for (const name of names) {
    const text = await readFile(join(listDir, name), 'utf8').catch(() => '');
    if (name.endsWith('.sources')) entries.push(...parseDeb822Sources(text));
    else if (name.endsWith('.list')) entries.push(...parseOneLineSources(text));
  }
  entries.push(...parseOneLineSources(await readFile(join(aptDir, 'sources.list'), 'utf8').catch(() => '')));
  return pickMirrors(entries, suite);
}

// The sources.list text written into the lab root file system, pointing at the same mirrors.
export function renderSourcesList(mirrors: DebianMirrors, suite = 'bookworm'): string {
  const lines = [`deb ${mirrors.archive} ${suite} main`, `deb ${mirrors.archive} ${suite}-updates main`];
  if (mirrors.security) lines.push(`deb ${mirrors.security} ${suite}-security main`);
  return `${lines.join('\n')}\n`;
}
