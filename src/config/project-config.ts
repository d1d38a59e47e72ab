import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { LineCounter, isMap, isScalar, parseDocument, stringify, type Document } from 'yaml';
import { z } from 'zod';
import { HalyardError } from '../core/errors.js';
import { ExitCode } from '../core/exit-codes.js';
import { fileKind } from '../core/file-kind.js';
import { decodeUtf8, describeInvalidUtf8 } from '../core/utf8.js';
import { nearestWord } from '../inventory/suggest.js';

// A repository's own defaults for halyard's flags, so a team runs `halyard apply site.ts` with no
// flags. Found from the working directory upwards (first found wins); each key is a long flag's
// name with `_` for `-`, and a flag given on the command line beats it:
//
//   inventory: inventory/prod.yml          # or a list; relative paths: from this file's folder
//   forks: 30
//   known_hosts: .ssh/known_hosts
//   strict_host_keys: true
//   ssh_config: none                       # or a file
//   connect_timeout: 20                    # seconds
//   timeout: 1800                          # seconds, any remote request
//   user: deploy
//   private_key: ~/.ssh/deploy_ed25519
//   become: true
//   vault_password_file: ~/.vault-pass     # or a list
export const PROJECT_CONFIG_FILE = 'halyard.yml';

/** HALYARD_CONFIG=none: read no halyard.yml at all. */
export const NO_PROJECT_CONFIG = 'none';

const path = z.string({ error: 'must be a path' }).min(1, 'must be a path, not empty');
const paths = z.union([path, z.array(path).min(1, 'must list at least one path')], { error: 'must be a path or a list of paths' });
const seconds = z.number({ error: 'must be a number of seconds' }).positive('must be a positive number of seconds');

// The file's keys, as written in YAML (what `halyard init` writes and README documents).
export const projectConfigSchema = z.strictObject({
  inventory: paths.optional(),
  forks: z.number({ error: 'must be a positive whole number' }).int('must be a positive whole number').positive('must be a positive whole number').optional(),
  known_hosts: path.optional(),
  strict_host_keys: z.boolean({ error: 'must be true or false' }).optional(),
  ssh_config: path.optional(),
  connect_timeout: seconds.optional(),
  timeout: seconds.optional(),
  user: z.string({ error: 'must be a user name' }).min(1, 'must be a user name, not empty').optional(),
  private_key: path.optional(),
  become: z.boolean({ error: 'must be true or false' }).optional(),
  vault_password_file: paths.optional(),
});

// What `halyard init` may write: the file's keys before validation.
export type ProjectConfigInput = z.input<typeof projectConfigSchema>;

// The settings read from one halyard.yml, paths absolute; `{}` when there is none.
export interface ProjectConfig {
  /** The file read; undefined when none was found (or HALYARD_CONFIG=none). */
  file?: string;
  inventory?: string[];
  forks?: number;
  knownHosts?: string;
  strictHostKeys?: boolean;
  /** A file, or null for `ssh_config: none` (read no ssh_config). */
  sshConfig?: string | null;
  /** Seconds. */
  connectTimeout?: number;
  /** Seconds. */
  timeout?: number;
  user?: string;
  privateKey?: string;
  become?: boolean;
  vaultPasswordFile?: string[];
}

// Names Ansible users carry over from ansible.cfg, pointed at halyard's key.
const ANSIBLE_NAMES: Record<string, string> = {
  remote_user: 'user',
  private_key_file: 'private_key',
  hostfile: 'inventory',
  host_key_checking: 'strict_host_keys',
  vault_password_files: 'vault_password_file',
};

// A bad halyard.yml (or HALYARD_CONFIG naming nothing): one line `file[:line]: message`, exit 65.
export class ProjectConfigError extends HalyardError {
  constructor(message: string, where: { file: string; line?: number | undefined; cause?: unknown }) {
    super('E_PROJECT_CONFIG', `${where.file}${where.line ? `:${where.line}` : ''}: ${message}`, { exitCode: ExitCode.InputError, cause: where.cause });
  }
}

// Where the settings come from: the process's working directory and environment.
export interface ProjectConfigPlace {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

// The halyard.yml in effect: HALYARD_CONFIG's (a file or a folder holding one; `none` for none),
// else the first one from cwd upwards to the filesystem root; undefined when there is none.
export function findProjectConfig(cwd: string = process.cwd(), env: NodeJS.ProcessEnv = process.env): string | undefined {
  const named = env.HALYARD_CONFIG;
  if (named !== undefined && named !== '') {
    if (named === NO_PROJECT_CONFIG) return undefined;
    const given = resolve(cwd, expandHome(named));
    const file = fileKind(given) === 'dir' ? join(given, PROJECT_CONFIG_FILE) : given;
    if (fileKind(file) !== 'file') throw new ProjectConfigError(`no such file (named by HALYARD_CONFIG=${named}; HALYARD_CONFIG=${NO_PROJECT_CONFIG} reads none)`, { file });
    return file;
  }
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    const candidate = join(dir, PROJECT_CONFIG_FILE);
    if (fileKind(candidate) === 'file') return candidate;
    if (dirname(dir) === dir) return undefined;
  }
}

// The settings in effect here: the file findProjectConfig names, read; `{}` when there is none.
export function projectConfig(place: ProjectConfigPlace = {}): ProjectConfig {
  const file = findProjectConfig(place.cwd ?? process.cwd(), place.env ?? process.env);
  return file === undefined ? {} : loadProjectConfig(file);
}

// Reads and checks one halyard.yml; relative paths are made absolute from its folder.
export function loadProjectConfig(file: string): ProjectConfig {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ProjectConfigError(`cannot read it (${code === 'ENOENT' ? 'no such file' : (code ?? String(error))})`, { file, cause: error });
  }
  const decoded = decodeUtf8(bytes);
  if (!decoded.ok) throw new ProjectConfigError(describeInvalidUtf8(decoded), { file, line: decoded.line });
  return parseProjectConfig(decoded.text, file);
}

// Parses halyard.yml's text; `file` names it in errors and anchors its relative paths.
export function parseProjectConfig(text: string, file: string): ProjectConfig {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: true });
  const yamlError = doc.errors[0];
  if (yamlError) {
    throw new ProjectConfigError(`YAML: ${yamlError.message.split('\n')[0]?.replace(/ at line \d+, column \d+:?$/, '')}`, { file, line: yamlError.linePos?.[0].line });
  }
  if (doc.contents !== null && !isMap(doc.contents)) {
    throw new ProjectConfigError(`must be a mapping of settings (like "inventory: hosts.yml"), not ${describeValue(doc.toJS())}`, { file, line: 1 });
  }
  const raw = (doc.toJS() ?? {}) as Record<string, unknown>;
  const parsed = projectConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    if (issue.code === 'unrecognized_keys') {
      const key = issue.keys[0]!;
      throw new ProjectConfigError(`unknown key ${JSON.stringify(key)}${suggestKey(key)}`, { file, line: keyLine(doc, lines, key) });
    }
    const key = String(issue.path[0]);
    throw new ProjectConfigError(`${key}: ${issue.message}, got ${describeValue(raw[key])}`, { file, line: keyLine(doc, lines, key) });
  }
  const config = parsed.data;
  const base = dirname(resolve(file));
  const at = (value: string) => {
    const expanded = expandHome(value);
    return isAbsolute(expanded) ? resolve(expanded) : resolve(base, expanded);
  };
  const list = (value: string | string[]) => (Array.isArray(value) ? value : [value]).map(at);
  return {
    file: resolve(file),
    ...(config.inventory !== undefined ? { inventory: list(config.inventory) } : {}),
    ...(config.forks !== undefined ? { forks: config.forks } : {}),
    ...(config.known_hosts !== undefined ? { knownHosts: at(config.known_hosts) } : {}),
    ...(config.strict_host_keys !== undefined ? { strictHostKeys: config.strict_host_keys } : {}),
    ...(config.ssh_config !== undefined ? { sshConfig: config.ssh_config === 'none' ? null : at(config.ssh_config) } : {}),
    ...(config.connect_timeout !== undefined ? { connectTimeout: config.connect_timeout } : {}),
    ...(config.timeout !== undefined ? { timeout: config.timeout } : {}),
    ...(config.user !== undefined ? { user: config.user } : {}),
    ...(config.private_key !== undefined ? { privateKey: at(config.private_key) } : {}),
    ...(config.become !== undefined ? { become: config.become } : {}),
    ...(config.vault_password_file !== undefined ? { vaultPasswordFile: list(config.vault_password_file) } : {}),
  };
}

// The text of a halyard.yml holding these settings, checked first (for `halyard init`).
export function formatProjectConfig(input: ProjectConfigInput): string {
  const parsed = projectConfigSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const key = issue.code === 'unrecognized_keys' ? issue.keys[0]! : String(issue.path[0]);
    throw new ProjectConfigError(`${key}: ${issue.code === 'unrecognized_keys' ? `unknown key${suggestKey(key)}` : issue.message}`, { file: PROJECT_CONFIG_FILE });
  }
  return stringify(parsed.data);
}

// "; did you mean ..." for a mistyped key (or an ansible.cfg name), else the keys there are.
function suggestKey(key: string): string {
  const known = Object.keys(projectConfigSchema.shape);
  const guess = ANSIBLE_NAMES[key.toLowerCase()] ?? nearestWord(key, known);
  return guess !== undefined ? `; did you mean ${JSON.stringify(guess)}?` : `; known keys: ${known.join(', ')}`;
}

// The line of a top-level key (the file has no nesting).
function keyLine(doc: Document, lines: LineCounter, key: string): number | undefined {
  if (!isMap(doc.contents)) return undefined;
  const pair = doc.contents.items.find((item) => isScalar(item.key) && String(item.key.value) === key);
  const range = pair && isScalar(pair.key) ? pair.key.range : undefined;
  return range ? lines.linePos(range[0]).line : undefined;
}

function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return JSON.stringify(value);
}

function expandHome(value: string): string {
  return value === '~' ? homedir() : value.startsWith('~/') ? join(homedir(), value.slice(2)) : value;
}
