import type { Command } from 'commander';

// `halyard init [DIR]`: a project to start from, in an empty folder or beside what is there.
export function registerInitCommand(program: Command): void {
  program
    .command('init')
    .description('write a halyard project (package.json completed, tsconfig, halyard.yml, inventory, a playbook and an example role); never overwrites a file')
    .argument('[dir]', 'project folder (created if missing)', '.')
    .action(async (dir: string) => {
      const { initProject } = await import('./init-run.js');
      await initProject(dir);
    });
}
