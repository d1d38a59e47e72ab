import { describe, expect, test } from 'vitest';
import * as resources from '../../src/resources/index.js';
import { resourceTypeOf, resourceTypes, type DesiredOf } from '../../src/resources/index.js';

describe('resources index', () => {
  test('every kind is in the map under its own kind name', () => {
    expect(Object.keys(resourceTypes)).toEqual([
      'file',
      'directory',
      'absent',
      'packages',
      'user',
      'group',
      'service',
      'command',
      'docker-image',
      'compose-project',
      'compose-restart',
      'http-health',
      'upload',
    ]);
    for (const [kind, type] of Object.entries(resourceTypes)) expect(type.kind).toBe(kind);
  });

  test('named exports are the same objects as the map', () => {
    expect(resources.fileResource).toBe(resourceTypes.file);
    expect(resources.directoryResource).toBe(resourceTypes.directory);
    expect(resources.absentResource).toBe(resourceTypes.absent);
    expect(resources.packagesResource).toBe(resourceTypes.packages);
    expect(resources.userResource).toBe(resourceTypes.user);
    expect(resources.groupResource).toBe(resourceTypes.group);
    expect(resources.uploadResource).toBe(resourceTypes.upload);
    expect(resources.serviceResource).toBe(resourceTypes.service);
    expect(resources.commandResource).toBe(resourceTypes.command);
    expect(resources.dockerImageResource).toBe(resourceTypes['docker-image']);
    expect(resources.composeProjectResource).toBe(resourceTypes['compose-project']);
    expect(resources.composeRestartResource).toBe(resourceTypes['compose-restart']);
    expect(resources.httpHealthResource).toBe(resourceTypes['http-health']);
  });

  test('resourceTypeOf looks up by kind, not by prototype keys', () => {
    expect(resourceTypeOf('user')).toBe(resourceTypes.user);
    expect(resourceTypeOf('nope')).toBeUndefined();
    expect(resourceTypeOf('toString')).toBeUndefined();
  });

  test('DesiredOf maps a kind to its desired type', () => {
    const desired: DesiredOf<'packages'> = { names: ['curl'] };
    expect(resourceTypes.packages.describe(desired)).toBe('packages curl');
  });
});
