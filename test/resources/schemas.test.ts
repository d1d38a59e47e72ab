// Resource arguments are checked when a playbook makes a task: a wrong type fails before any host
// is touched, naming the playbook line.
import { describe, expect, test } from 'vitest';
import { PlaybookError } from '../../src/core/errors.js';
import { Secret } from '../../src/core/secret.js';
import { template } from '../../src/core/template.js';
import { command, directory, file, packages, service, user } from '../../src/playbook/tasks.js';
import { argumentProblem } from '../../src/resources/schemas.js';

describe('argumentProblem', () => {
  test.each([
    ['file', { path: '/etc/motd', content: 'x', mode: 644 }, 'mode must be a string of octal digits like "0644", got the number 644 (write "1204" for 0o1204, or "0644" if you meant octal 644)'],
    ['file', { path: '/etc/motd', content: 'x', group: true }, 'group must be a user or group name (a string) or a numeric id'],
    ['file', { path: '/etc/motd', content: 42 }, 'content must be text, a Buffer, a Secret or a template`...`'],
    ['file', { path: '/etc/motd' }, 'content is required'],
    ['file', { path: '/etc/motd', content: 'x', mdoe: '0644' }, 'unknown argument "mdoe"'],
    ['directory', { path: 7 }, 'path must be a string (an absolute path)'],
    ['packages', { names: 'nginx' }, 'names must be a list of package names or { apt, dnf } lists'],
    ['service', { name: 'nginx', state: 'running' }, 'state Invalid option: expected one of "started"|"stopped"|"restarted"|"reloaded"'],
    ['command', { command: 'true', env: { A: 1 } }, 'env.A environment values must be strings'],
    ['user', { name: 'app', uid: '1000' }, 'uid Invalid input: expected number, received string'],
  ])('%s %j', (kind, desired, problem) => {
    expect(argumentProblem(kind, desired)).toBe(problem);
  });

  test('good arguments, secrets and templates included, pass', () => {
    expect(argumentProblem('file', { path: '/etc/app.env', content: template`A=${new Secret('s3cret-value')}\n`, owner: 'root', group: 0, mode: '0600' })).toBeUndefined();
    expect(argumentProblem('file', { path: '/etc/pin', content: new Secret('482915') })).toBeUndefined();
    expect(argumentProblem('packages', { names: { apt: ['docker.io'], dnf: ['docker'] } })).toBeUndefined();
    // Every option a compose task takes passes its schema (a playbook gets no further otherwise).
    expect(
      argumentProblem('compose-project', {
        dir: '/opt/app',
        project: 'app',
        command: 'auto',
        restartHandlers: { web: 'restart web' },
        inputs: { composeFile: 'services: {}\n', envFile: new Secret('A=1\n') },
        expectImages: { 'app:1': `sha256:${'a'.repeat(64)}` },
      }),
    ).toBeUndefined();
  });
});

describe('tasks with bad arguments', () => {
  test('fail where the playbook makes them, with its file:line, before anything runs', () => {
    let error: unknown;
    try {
      // A JavaScript caller (or `as never`) gets past the types; the schema still refuses.
      file({ path: '/etc/motd', content: 'hello\n', mode: 644 as never });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(PlaybookError);
    expect(error).toMatchObject({ code: 'E_TASK_ARGUMENTS', exitCode: 65 });
    expect((error as Error).message).toMatch(/^\/.*test\/resources\/schemas\.test\.ts:\d+: file: mode must be a string of octal digits like "0644", got the number 644/);
  });

  test('every resource constructor checks its arguments', () => {
    expect(() => directory({ path: '/srv', mode: 750 as never })).toThrow(/directory: mode must be a string/);
    expect(() => packages({ names: 'nginx' as never })).toThrow(/packages: names must be a list/);
    expect(() => service({ name: 'nginx', state: 'running' as never })).toThrow(/service: state /);
    expect(() => user({ name: 'app', groups: 'docker' as never })).toThrow(/user: groups must be a list/);
    expect(() => command({ command: 'true', unles: 'false' } as never)).toThrow(/command: unknown argument "unles"/);
  });
});
