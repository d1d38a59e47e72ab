import { writeFile } from 'node:fs/promises';
import { InvalidArgumentError, type Command } from 'commander';
import { stdoutText, stderrText } from './output/terminal.js';

// The fleet name used when none is given (src/lab/fleet.ts's default; the lab loads only when used).
const DEFAULT_FLEET_NAME = 'halyard-lab';

// Adds `lab up` and `lab down` to the CLI: a local fleet of SSH hosts in Docker for trying roles.
// Actions are async: the caller must use program.parseAsync(); errors (LabError etc.) propagate.
export function registerLabCommands(program: Command): void {
  const lab = program.command('lab').description('local lab fleet: Debian hosts in Docker reachable over SSH on 127.0.0.1');

  lab
    .command('stack-images')
    .description('build the stack\'s stand-in images (no registry needed) and write the vars that use them')
    .requiredOption('--vars-file <file>', 'YAML vars file to write: { images, ship_images } for playbooks/site.ts')
    .action(async (options: { varsFile: string }) => {
      const [{ ensureStackTestImagesDetailed }, { stringify }] = await Promise.all([import('../lab/stack-images.js'), import('yaml')]);
      const built = await ensureStackTestImagesDetailed({ onProgress: progress });
      const vars = { images: built.images, ship_images: Object.keys(built.images) };
      await writeFile(options.varsFile, `# Stand-in images for a lab run of playbooks/site.ts; real hosts use the upstream tags.\n${stringify(vars)}`);
      stdoutText.write(`${options.varsFile}\n`);
    });

  lab
    .command('up')
    .description('start a lab fleet (replacing one of the same name); prints the inventory path last')
    .requiredOption('--hosts <n>', 'number of hosts (1-100)', parseHostCount)
    .option('--systemd', 'systemd as PID 1 (services, Docker inside) instead of sshd as PID 1', false)
    .option('--name <name>', 'fleet name; containers are <name>-<i>', DEFAULT_FLEET_NAME)
    .option('--packages <names>', 'Debian packages installed in the hosts\' image (comma separated; built once, cached)', (value: string) => value.split(',').map((name) => name.trim()).filter(Boolean))
    .option('--no-apt-cache', 'hosts fetch Debian packages from the mirror, not through the local apt-cacher-ng')
    .action(async (options: { hosts: number; systemd: boolean; name: string; aptCache: boolean; packages?: string[] }) => {
      const started = Date.now();
      const { labUp } = await import('../lab/index.js');
      const fleet = await labUp({
        count: options.hosts,
        systemd: options.systemd,
        name: options.name,
        aptCache: options.aptCache ? 'auto' : 'off',
        ...(options.packages ? { packages: options.packages } : {}),
        onProgress: progress,
      });
      progress(`fleet ${fleet.name} up in ${((Date.now() - started) / 1000).toFixed(1)} s (key ${fleet.keyFile})`);
      const lines = fleet.hosts.map((h) => `${h.name}\t${h.address}:${h.port}`);
      stdoutText.write(`${[...lines, fleet.inventoryPath].join('\n')}\n`);
    });

  lab
    .command('down')
    .description('remove a lab fleet (containers, volumes, inventory), or every lab container with --all')
    .option('--name <name>', 'fleet name', DEFAULT_FLEET_NAME)
    .option('--all', 'remove every halyard lab container and volume', false)
    .action(async (options: { name: string; all: boolean }) => {
      const { labDown } = await import('../lab/index.js');
      const result = await labDown(options.all ? { all: true, onProgress: progress } : { name: options.name, onProgress: progress });
      progress(`removed ${result.containers.length} container(s) and ${result.volumes.length} volume(s)`);
    });
}

function progress(message: string): void {
  stderrText.write(`lab: ${message}\n`);
}

function parseHostCount(value: string): number {
  const count = Number(value);
  if (!/^\d+$/.test(value) || !Number.isInteger(count) || count < 1 || count > 100) {
    throw new InvalidArgumentError('expected a whole number from 1 to 100');
  }
  return count;
}
