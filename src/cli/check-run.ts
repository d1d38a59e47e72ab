import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { PlaybookError, UsageError } from '../core/errors.js';
import { stdoutText } from './output/terminal.js';

// What the TypeScript compiler said about a playbook, as `file:line:col: message` lines.
export interface TypeCheck {
  tsconfig: string | undefined;
  errors: string[];
}

// Type-checks a playbook as its project would (`tsc --noEmit` with the nearest tsconfig.json
// above it), with the project's own TypeScript: the playbook and everything it imports.
export function typecheckPlaybook(playbookPath: string): TypeCheck {
  const absolute = resolve(playbookPath);
  const tsconfig = findUp(dirname(absolute), 'tsconfig.json');
  const projectDir = tsconfig ? dirname(tsconfig) : dirname(absolute);
  const ts = loadTypeScript(projectDir);
  const host = ts.sys;
  let options: import('typescript').CompilerOptions = { strict: true, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022, skipLibCheck: true };
  if (tsconfig) {
    const read = ts.readConfigFile(tsconfig, host.readFile);
    if (read.error) throw new UsageError(`${relative(process.cwd(), tsconfig)}: ${ts.flattenDiagnosticMessageText(read.error.messageText, ' ')}`);
    const parsed = ts.parseJsonConfigFileContent(read.config, host, projectDir, undefined, tsconfig);
    options = parsed.options;
  }
  const program = ts.createProgram({ rootNames: [absolute], options: { ...options, noEmit: true } });
  const diagnostics = ts.getPreEmitDiagnostics(program);
  const errors = diagnostics
    .filter((diagnostic) => diagnostic.category === ts.DiagnosticCategory.Error)
    .map((diagnostic) => {
      const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, ' ');
      if (!diagnostic.file || diagnostic.start === undefined) return `error TS${diagnostic.code}: ${message}`;
      const { line, character } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start);
      return `${relative(process.cwd(), diagnostic.file.fileName)}:${line + 1}:${character + 1}: error TS${diagnostic.code}: ${message}`;
    });
  return { tsconfig, errors };
}

// `halyard check PLAYBOOK`: the type check, then (when it passes) the listing --list-hosts and
// --list-tasks give, connecting to no host. Type errors: one line each and exit 65.
export function reportTypeCheck(playbookPath: string, check: TypeCheck, json: boolean): void {
  if (check.errors.length > 0) {
    if (!json) for (const line of check.errors) process.stderr.write(`${line}\n`);
    throw new PlaybookError('E_PLAYBOOK_TYPES', `${playbookPath} does not type-check: ${check.errors.length} error${check.errors.length === 1 ? '' : 's'}${json ? `: ${check.errors.join('; ')}` : ' (above)'}`);
  }
  if (!json) stdoutText.write(`type-checks: ${playbookPath}${check.tsconfig ? ` (${relative(process.cwd(), check.tsconfig) || 'tsconfig.json'})` : ' (no tsconfig.json found: strict defaults)'}\n`);
}

// The project's own TypeScript (its devDependency), else the one beside halyard.
function loadTypeScript(projectDir: string): typeof import('typescript') {
  for (const from of [join(projectDir, 'package.json'), import.meta.url]) {
    try {
      return createRequire(from)('typescript') as typeof import('typescript');
    } catch {
      // Next place.
    }
  }
  throw new UsageError('halyard check needs TypeScript in the project: npm install --save-dev typescript @types/node');
}

function findUp(start: string, name: string): string | undefined {
  for (let dir = start; ; dir = dirname(dir)) {
    const candidate = join(dir, name);
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) return undefined;
  }
}
