import { absentResource } from './absent.js';
import { commandResource } from './command.js';
import { composeProjectResource } from './compose-project.js';
import { composeRestartResource } from './compose-restart.js';
import { directoryResource } from './directory.js';
import { dockerImageResource } from './docker-image.js';
import { fileResource } from './file.js';
import { groupResource } from './group.js';
import { httpHealthResource } from './http-health.js';
import { packagesResource } from './packages.js';
import { serviceResource } from './service.js';
import type { ResourceType } from './types.js';
import { uploadResource } from './upload.js';
import { userResource } from './user.js';

export { absentResource, type AbsentDesired } from './absent.js';
export { commandResource, renderCommandArgv, type CommandDesired } from './command.js';
export { COMPOSE_PROJECT_NAME, COMPOSE_SERVICE_NAME, composeProjectResource, composeUpScript, projectDrift, type ComposeProjectDesired } from './compose-project.js';
export { composeRestartResource, type ComposeRestartDesired } from './compose-restart.js';
export { directoryResource, parentsOf, type DirectoryDesired } from './directory.js';
export { dockerImageResource, dockerLoadScript, dockerSaveSource, localImageId, localImageIds, type DockerImageDesired } from './docker-image.js';
export { atomicWriteScript, fileDiff, fileResource, type FileDesired } from './file.js';
export { groupResource, type GroupDesired } from './group.js';
export { HEALTH_TIMEOUT_SECONDS, healthWaitScript, httpHealthResource, type HttpHealthDesired } from './http-health.js';
export { type Ownership } from './ownership.js';
export { APT_LISTS_MAX_AGE_SECONDS, aptUpdateReason, checkPackageName, packagesResource, type PackageNamesByManager, type PackagesDesired } from './packages.js';
export { serviceResource, type ServiceDesired } from './service.js';
export { PlanError, keyMatches, type FileDiff, type Plan, type PlanContext, type ResourceInstance, type ResourceType, type Step } from './types.js';
export { localFileDigest, uploadDesired, uploadResource, uploadScript, uploadSource, type UploadDesired, type UploadOptions } from './upload.js';
export { ACCOUNT_NAME, checkAccountId, checkAccountName, userResource, type UserDesired } from './user.js';

// Every resource kind by its kind name (what playbooks and JSON results call it).
export const resourceTypes = {
  file: fileResource,
  directory: directoryResource,
  absent: absentResource,
  packages: packagesResource,
  user: userResource,
  group: groupResource,
  service: serviceResource,
  command: commandResource,
  'docker-image': dockerImageResource,
  'compose-project': composeProjectResource,
  'compose-restart': composeRestartResource,
  'http-health': httpHealthResource,
  upload: uploadResource,
} as const;

// A kind name: 'file' | 'directory' | ... .
export type ResourceKind = keyof typeof resourceTypes;

// The desired-state type of a kind, e.g. DesiredOf<'user'> is UserDesired.
export type DesiredOf<K extends ResourceKind> = (typeof resourceTypes)[K] extends ResourceType<infer D> ? D : never;

// Looks up a kind by name; undefined for an unknown kind.
export function resourceTypeOf(kind: string): ResourceType<unknown> | undefined {
  return Object.hasOwn(resourceTypes, kind) ? (resourceTypes[kind as ResourceKind] as unknown as ResourceType<unknown>) : undefined;
}
