import { describe, expect, test } from 'vitest';
import type { DockerInfo } from '../../src/facts/docker.js';
import { composeRestartResource, type ComposeRestartDesired } from '../../src/resources/compose-restart.js';
import { HOSTILE_PATH_WORDS, quotedAfter } from '../core/hostile-words.js';
import { outcomeOf, planOf, type PlanRow } from './plan-table.js';

const docker = (info: Partial<DockerInfo> = {}) => ({ docker: { cli: true, serverVersion: '20.10.24', composeV1: '/usr/bin/docker-compose', ...info } satisfies DockerInfo });
const WEB: ComposeRestartDesired = { dir: '/opt/app', project: 'app', services: ['web'] };

const rows: PlanRow<ComposeRestartDesired>[] = [
  { name: 'always restarts (v1 found)', desired: WEB, facts: docker(), expected: { scripts: ['cd -- /opt/app && docker-compose -p app -f docker-compose.yml restart web'] } },
  {
    name: 'v2 preferred; several services, duplicates once',
    desired: { ...WEB, services: ['web', 'nginx', 'web'] },
    facts: docker({ composeV2: '2.29.7' }),
    expected: { scripts: ['cd -- /opt/app && docker compose -p app -f docker-compose.yml restart web nginx'] },
  },
  { name: 'v1 asked', desired: { ...WEB, command: 'v1' }, facts: docker({ composeV2: '2.29.7' }), expected: { scripts: ['cd -- /opt/app && docker-compose -p app -f docker-compose.yml restart web'] } },
  { name: 'no compose found: v2 words (the shell names what is missing)', desired: WEB, facts: docker({ composeV1: undefined }), expected: { scripts: ['cd -- /opt/app && docker compose -p app -f docker-compose.yml restart web'] } },
  { name: 'other file', desired: { ...WEB, file: 'compose.yml' }, facts: docker(), expected: { scripts: ['cd -- /opt/app && docker-compose -p app -f compose.yml restart web'] } },
  { name: 'no services', desired: { ...WEB, services: [] }, facts: docker(), expected: { error: 'compose restart: services must be a non-empty list' } },
  { name: 'a service that is an option', desired: { ...WEB, services: ['--timeout=0'] }, facts: docker(), expected: { error: 'compose restart: invalid service name "--timeout=0"' } },
  { name: 'a service with a shell word', desired: { ...WEB, services: ['web;reboot'] }, facts: docker(), expected: { error: 'compose restart: invalid service name "web;reboot"' } },
];

describe('composeRestartResource.plan', () => {
  test.each(rows)('$name', ({ desired, facts, expected }) => {
    expect(outcomeOf(composeRestartResource, desired, facts)).toEqual(expected);
  });

  test('changes, labels, facts, invalidation, description', () => {
    expect(planOf(composeRestartResource, { ...WEB, services: ['web', 'nginx'] }, docker())).toMatchObject({
      changes: ['restart web, nginx of project app'],
      steps: [{ label: 'docker-compose restart web nginx' }],
    });
    expect(Object.values(composeRestartResource.facts(WEB, { diff: false })).map((fact) => fact.key)).toEqual(['docker:info']);
    expect(composeRestartResource.invalidates(WEB)).toEqual(['status:compose:app:*', 'status:health:app:*']);
    expect(composeRestartResource.describe(WEB)).toBe('restart app web');
  });

  test.each(HOSTILE_PATH_WORDS)('a project directory holding $name is one quoted word', (row) => {
    expect(outcomeOf(composeRestartResource, { ...WEB, dir: `/srv/${row.value}` }, docker())).toEqual({
      scripts: [`cd -- ${quotedAfter('/srv/', row)} && docker-compose -p app -f docker-compose.yml restart web`],
    });
  });
});

describe('composeRestartResource.combine (handlers notified next to each other)', () => {
  const together = (services: string[], extra: Partial<ComposeRestartDesired> = {}): ComposeRestartDesired => ({ ...WEB, services, together: true, ...extra });
  const combine = composeRestartResource.combine!;

  test('two that say together for the same project restart in one call, each service once', () => {
    const joined = combine(together(['loki']), together(['grafana', 'loki']));
    expect(joined).toEqual(together(['loki', 'grafana']));
    expect(outcomeOf(composeRestartResource, joined!, docker())).toEqual({ scripts: ['cd -- /opt/app && docker-compose -p app -f docker-compose.yml restart loki grafana'] });
  });

  const apart: Array<[string, ComposeRestartDesired, ComposeRestartDesired]> = [
    ['one of them does not say together', together(['loki']), { ...WEB, services: ['grafana'] }],
    ['another project', together(['loki']), together(['grafana'], { project: 'other' })],
    ['another folder', together(['loki']), together(['grafana'], { dir: '/opt/other' })],
    ['another compose file', together(['loki']), together(['grafana'], { file: 'compose.yml' })],
    ['another command', together(['loki']), together(['grafana'], { command: 'v1' })],
    ['services that are not a list (the plan says so later)', together(['loki']), { ...together([]), services: 'grafana' as unknown as string[] }],
  ];
  test.each(apart)('%s: kept apart', (_name, first, next) => {
    expect(combine(first, next)).toBeUndefined();
  });
});
