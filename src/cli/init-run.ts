import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { UsageError } from '../core/errors.js';
import { halyardManifestOf } from '../core/package-root.js';
import { completeManifest, scaffoldFiles, type ScaffoldVersions } from '../init/scaffold.js';
import { stdoutText } from './output/terminal.js';

// Writes the scaffold into DIR: package.json completed in place, every other file only where none
// is (an existing file is kept and named), then the next steps.
export async function initProject(dir: string): Promise<void> {
  const root = resolve(dir);
  if (existsSync(root) && !statSync(root).isDirectory()) throw new UsageError(`${dir} exists and is not a folder`);
  const manifestPath = join(root, 'package.json');
  const existing = existsSync(manifestPath) ? readFileSync(manifestPath, 'utf8') : undefined;
  // Checked before anything is written, so a refusal leaves the folder as it was.
  const manifest = completeManifest(existing, { name: packageName(root), versions: scaffoldVersions(), ownJavaScript: existing === undefined ? [] : ownJavaScript(root) });
  mkdirSync(root, { recursive: true });
  const lines: string[] = [];
  if (existing === undefined) {
    writeFileSync(manifestPath, manifest.text);
    lines.push('  created  package.json');
  } else if (manifest.changes.length > 0) {
    writeFileSync(manifestPath, manifest.text);
    lines.push(`  updated  package.json: ${manifest.changes.join(', ')}`);
  } else {
    lines.push('  kept     package.json (nothing to add)');
  }
  for (const [path, content] of Object.entries(scaffoldFiles())) {
    const target = join(root, path);
    if (existsSync(target)) {
      lines.push(`  kept     ${path} (exists)`);
      continue;
    }
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, content, { flag: 'wx' });
    lines.push(`  created  ${path}`);
  }
  const where = relative(process.cwd(), root) || '.';
  stdoutText.write(
    [
      `halyard project in ${where}:`,
      ...lines,
      '',
      'Next:',
      ...(where === '.' ? [] : [`  cd ${where}`]),
      '  npm install',
      '  npm run typecheck                 # playbooks and roles type-check',
      '  (put your hosts in inventory/hosts.yml)',
      '  npx halyard facts                 # each host answers',
      '  npm run check                     # what playbooks/site.ts would change',
      '  npm run apply                     # converge',
      '',
    ].join('\n'),
  );
}

// npm's rules for a name from a folder name: lower case, URL-safe characters.
function packageName(root: string): string {
  const name = basename(root).toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[._-]+/, '');
  return name === '' ? 'infrastructure' : name.slice(0, 214);
}

// The versions a new project asks for: this halyard (a caret range), and the TypeScript and Node
// types it is built with.
function scaffoldVersions(): ScaffoldVersions {
  const own = halyardManifestOf(import.meta.url);
  const major = (spec: string | undefined, fallback: string) => {
    const match = /(\d+)(?:\.(\d+))?/.exec(spec ?? '');
    return match ? `^${match[1]}.${match[2] ?? '0'}.0` : fallback;
  };
  return { halyard: `^${own.version}`, typescript: major(own.devDependencies?.typescript, '^5.9.0'), nodeTypes: major(own.devDependencies?.['@types/node'], '^20.19.0') };
}

// JavaScript files of the project's own (not dependencies, not hidden folders), three levels deep:
// what a "type" change from commonjs to module would break.
function ownJavaScript(root: string): string[] {
  const found: string[] = [];
  const walk = (dir: string, depth: number) => {
    if (depth > 3 || found.length >= 3) return;
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      if (entry.name.startsWith('.') || entry.name === 'node_modules') continue;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path, depth + 1);
      else if (/\.(js|jsx)$/.test(entry.name)) found.push(relative(root, path));
    }
  };
  walk(root, 0);
  return found;
}
