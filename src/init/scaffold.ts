import { HalyardError } from '../core/errors.js';
import { ExitCode } from '../core/exit-codes.js';

// What `halyard init` writes: a project a team can run at once (typed playbook, an example role
// with typed vars, a handler and a branch on host facts, an inventory with group_vars, halyard.yml)
// and that `npx tsc --noEmit` accepts after `npm install`. Pure: the CLI decides what to write.

/** Versions the scaffold asks for where the project names none. */
export interface ScaffoldVersions {
  /** halyard itself, e.g. "^0.1.0". */
  halyard: string;
  typescript: string;
  nodeTypes: string;
}

// The package.json an init leaves: the existing one completed (type module, halyard, typescript
// and @types/node, scripts), every key it held kept; `changes` says what was added, for the user.
export interface CompletedManifest {
  text: string;
  changes: string[];
}

// Problems with an existing package.json that init must not paper over.
export class InitError extends HalyardError {
  constructor(message: string) {
    super('E_INIT', message, { exitCode: ExitCode.Usage });
    this.name = 'InitError';
  }
}

/** Scripts the scaffold adds where the project has none of that name. */
export const SCAFFOLD_SCRIPTS: Readonly<Record<string, string>> = {
  typecheck: 'tsc --noEmit',
  check: 'halyard apply playbooks/site.ts --check --diff',
  apply: 'halyard apply playbooks/site.ts',
};

// Completes an existing package.json (or makes one) without dropping or reordering what it holds.
// A "type": "commonjs" is turned to "module" only when the project has no JavaScript of its own
// (npm init writes it by default); otherwise that is the user's decision, said plainly.
export function completeManifest(existing: string | undefined, options: { name: string; versions: ScaffoldVersions; ownJavaScript: readonly string[] }): CompletedManifest {
  let manifest: Record<string, unknown>;
  let indent: string | number = 2;
  if (existing === undefined) {
    manifest = { name: options.name, version: '0.1.0', private: true };
  } else {
    try {
      manifest = JSON.parse(existing) as Record<string, unknown>;
    } catch (error) {
      throw new InitError(`package.json is not valid JSON (${(error as Error).message}); fix it and run halyard init again (nothing was written)`);
    }
    if (manifest === null || typeof manifest !== 'object' || Array.isArray(manifest)) throw new InitError('package.json must hold a JSON object; fix it and run halyard init again (nothing was written)');
    indent = /^\{\s*\n([ \t]+)"/.exec(existing)?.[1] ?? 2;
  }
  const changes: string[] = [];
  if (manifest.type === undefined) {
    manifest.type = 'module';
    changes.push('"type": "module"');
  } else if (manifest.type === 'commonjs') {
    if (options.ownJavaScript.length > 0) {
      throw new InitError(
        `package.json says "type": "commonjs" and the project has JavaScript of its own (${options.ownJavaScript.slice(0, 3).join(', ')}): halyard playbooks are ES modules. Rename CommonJS files to .cjs, set "type": "module", and run halyard init again (nothing was written)`,
      );
    }
    manifest.type = 'module';
    changes.push('"type": "commonjs" -> "module" (the project has no JavaScript of its own)');
  } else if (manifest.type !== 'module') {
    throw new InitError(`package.json has "type": ${JSON.stringify(manifest.type)}; it must be "module" (nothing was written)`);
  }
  const section = (key: 'dependencies' | 'devDependencies' | 'scripts'): Record<string, string> => {
    const value = manifest[key];
    if (value === undefined) {
      const made: Record<string, string> = {};
      manifest[key] = made;
      return made;
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new InitError(`package.json's "${key}" must be an object (nothing was written)`);
    return value as Record<string, string>;
  };
  const declared = (name: string) => [manifest.dependencies, manifest.devDependencies, manifest.peerDependencies].some((deps) => deps !== null && typeof deps === 'object' && name in (deps as object));
  if (!declared('halyard')) {
    section('dependencies').halyard = options.versions.halyard;
    changes.push(`dependency halyard ${options.versions.halyard}`);
  }
  for (const [name, version] of [['typescript', options.versions.typescript], ['@types/node', options.versions.nodeTypes]] as const) {
    if (declared(name)) continue;
    section('devDependencies')[name] = version;
    changes.push(`devDependency ${name} ${version}`);
  }
  const scripts = section('scripts');
  for (const [name, command] of Object.entries(SCAFFOLD_SCRIPTS)) {
    if (name in scripts) continue;
    scripts[name] = command;
    changes.push(`script ${name}`);
  }
  return { text: `${JSON.stringify(manifest, null, indent)}\n`, changes };
}

// The scaffold's other files by path (relative to the project), each written only where no file is.
export function scaffoldFiles(): Record<string, string> {
  return {
    'tsconfig.json': TSCONFIG,
    'halyard.yml': HALYARD_YML,
    '.gitignore': GITIGNORE,
    'README.md': README,
    'inventory/hosts.yml': HOSTS_YML,
    'inventory/group_vars/all.yml': GROUP_VARS_ALL,
    'playbooks/site.ts': SITE_TS,
    'roles/baseline/index.ts': BASELINE_ROLE,
  };
}

const TSCONFIG = `{
  // Playbooks and roles are type-checked (\`npm run typecheck\`), never built: halyard loads them as they are.
  "compilerOptions": {
    "target": "ES2022",
    "module": "NodeNext",
    "moduleResolution": "NodeNext",
    "lib": ["ES2023"],
    "types": ["node"],
    "strict": true,
    "noUncheckedIndexedAccess": true,
    "skipLibCheck": true,
    "noEmit": true
  },
  "include": ["playbooks", "roles"]
}
`;

const HALYARD_YML = `# halyard's defaults for this repository; a flag on the command line beats each one.
# Relative paths are relative to this file. Keys: inventory, forks, known_hosts, strict_host_keys,
# ssh_config, connect_timeout, timeout, user, private_key, become, vault_password_file.
inventory: inventory/hosts.yml
forks: 20
`;

const GITIGNORE = `node_modules/
*.log
# Vault password files never belong in git.
.vault-pass*
`;

const HOSTS_YML = `# Your hosts, as in an Ansible inventory (YAML or INI, group_vars/ and host_vars/ beside it).
# \`npx halyard inventory list\` shows what halyard reads; \`npx halyard facts\` what each host is.
all:
  children:
    servers:
      hosts:
        server1:
          ansible_host: 192.0.2.10   # your host's address (192.0.2.0/24 is reserved for examples)
      vars:
        ansible_user: admin          # Debian on EC2: admin; Ubuntu: ubuntu
`;

const GROUP_VARS_ALL = `# Vars for every host (a file per group, as Ansible's group_vars/). Roles read them typed: a
# wrong type is an error before any host is touched. The baseline role's vars and defaults are in
# roles/baseline/index.ts.
baseline_motd: "Managed by halyard: changes made by hand are overwritten."
# baseline_packages: [ca-certificates, curl, htop]
# baseline_journal_max_use: 500M
`;

const SITE_TS = `import { definePlaybook } from 'halyard';
import { baseline } from '../roles/baseline/index.js';
// Roles that come with halyard import the same way, e.g.:
//   import { docker } from 'halyard/roles/docker';   (then roles: [baseline, docker])

// Every host gets the baseline role.
//   npx halyard apply playbooks/site.ts --check --diff   what would change, touching nothing
//   npx halyard apply playbooks/site.ts                  converge (a converged host: one SSH exec)
export default definePlaybook({
  name: 'site',
  hosts: 'all',
  roles: [baseline],
});
`;

const BASELINE_ROLE = `import { defineRole, directory, file, packages, service, z } from 'halyard';

// What every host gets: a few packages, a login banner naming its distribution and, on hosts where
// systemd runs, a cap on the journal's disk use (journald restarts only when that file changed).
export const baseline = defineRole({
  name: 'baseline',
  // Typed vars with defaults: inventory and -e values are checked against them before any host is touched.
  vars: z.object({
    baseline_packages: z.array(z.string()).default(['ca-certificates', 'curl']).describe('packages every host has'),
    baseline_motd: z.string().default('Managed by halyard.').describe('first line of /etc/motd'),
    baseline_journal_max_use: z
      .string()
      .regex(/^\\d+[KMG]$/)
      .default('200M')
      .describe("journald's SystemMaxUse on systemd hosts"),
  }),
  become: true,
  tasks: (host, vars) => [
    packages({ names: vars.baseline_packages }),
    file({
      path: '/etc/motd',
      content: \`\${vars.baseline_motd}\\n\${host.facts.prettyName} (\${host.facts.arch})\\n\`,
      owner: 'root',
      group: 'root',
      mode: '0644',
    }),
    // host.facts: distribution, family, version, codename, arch, packageManager, initSystem, cpus,
    // memoryMb, ipv4, ipv6 (\`npx halyard facts\` prints them).
    host.facts.initSystem === 'systemd' && [
      directory({ path: '/etc/systemd/journald.conf.d', owner: 'root', group: 'root', mode: '0755' }),
      file(
        {
          path: '/etc/systemd/journald.conf.d/50-halyard.conf',
          content: \`[Journal]\\nSystemMaxUse=\${vars.baseline_journal_max_use}\\n\`,
          owner: 'root',
          group: 'root',
          mode: '0644',
        },
        { notify: 'restart journald' },
      ),
    ],
  ],
  // Run once after the tasks, only when a task that notifies them changed something.
  handlers: () => ({
    'restart journald': service({ name: 'systemd-journald', state: 'restarted' }),
  }),
});
`;

const README = `# Infrastructure with halyard

Typed playbooks and roles, run over SSH by [halyard](https://www.npmjs.com/package/halyard).

\`\`\`sh
npm install                                  # halyard, TypeScript, Node types
npm run typecheck                            # tsc --noEmit on playbooks/ and roles/
npx halyard facts                            # what each host is (inventory from halyard.yml)
npm run check                                # what playbooks/site.ts would change (exit 2 when something would)
npm run apply                                # converge
\`\`\`

- \`inventory/hosts.yml\`: the hosts, as in an Ansible inventory; \`inventory/group_vars/\` their vars.
- \`playbooks/site.ts\`: which roles run on which hosts.
- \`roles/baseline/\`: an example role with typed vars, a handler and a branch on host facts.
- \`halyard.yml\`: defaults for halyard's flags (inventory, forks, known_hosts...).
`;
