import { absentResource, type AbsentDesired } from '../resources/absent.js';
import { commandResource } from '../resources/command.js';
import { composeProjectResource, type ComposeProjectDesired } from '../resources/compose-project.js';
import { composeRestartResource, type ComposeRestartDesired } from '../resources/compose-restart.js';
import { directoryResource, type DirectoryDesired } from '../resources/directory.js';
import { dockerImageResource, type DockerImageDesired } from '../resources/docker-image.js';
import { fileResource, type FileDesired } from '../resources/file.js';
import { groupResource } from '../resources/group.js';
import { httpHealthResource, type HttpHealthDesired } from '../resources/http-health.js';
import { packagesResource } from '../resources/packages.js';
import { serviceResource } from '../resources/service.js';
import { FLUSH_HANDLERS_KIND, type ResourceInstance, type ResourceType } from '../resources/types.js';
import { uploadDesired, uploadResource, type UploadDesired, type UploadOptions } from '../resources/upload.js';
import { userResource } from '../resources/user.js';
import { task, type TaskOptions } from './define.js';

// The desired-state type of a resource kind.
export type DesiredOf<T> = T extends ResourceType<infer D> ? D : never;

// A file with exact content (text, bytes, a Secret or a template), owner, group and mode.
export const file = (desired: FileDesired, options?: TaskOptions): ResourceInstance<FileDesired> => task(fileResource, desired, options);

// A directory with owner, group and mode.
export const directory = (desired: DirectoryDesired, options?: TaskOptions): ResourceInstance<DirectoryDesired> =>
  task(directoryResource, desired, options);

// A path that must not exist.
export const absent = (desired: AbsentDesired, options?: TaskOptions): ResourceInstance<AbsentDesired> =>
  task(absentResource, desired, options);

// System packages present or absent (apt or dnf, chosen by facts).
export const packages = (desired: DesiredOf<typeof packagesResource>, options?: TaskOptions) =>
  task(packagesResource, desired, options);

// A local user account.
export const user = (desired: DesiredOf<typeof userResource>, options?: TaskOptions) => task(userResource, desired, options);

// A local group.
export const group = (desired: DesiredOf<typeof groupResource>, options?: TaskOptions) => task(groupResource, desired, options);

// A systemd service: enabled, started, stopped, restarted.
export const service = (desired: DesiredOf<typeof serviceResource>, options?: TaskOptions) =>
  task(serviceResource, desired, options);

// A command guarded by creates/removes/unless/onlyIf so reruns stay idempotent.
export const command = (desired: DesiredOf<typeof commandResource>, options?: TaskOptions) =>
  task(commandResource, desired, options);

// A local file copied to the host (streamed, gzip in transit, sha256-checked, optionally validated) unless it has that sha256.
export const upload = (desired: UploadOptions, options?: TaskOptions): ResourceInstance<UploadDesired> => task(uploadResource, uploadDesired(desired), options);

// An image shipped from the controller (`docker save` piped into `docker load` on the host) unless the host has its ID.
export const dockerImage = (desired: DockerImageDesired, options?: TaskOptions): ResourceInstance<DockerImageDesired> =>
  task(dockerImageResource, desired, options);

// A compose project up with its current files (`up -d --remove-orphans` only when a service is missing, stopped or changed).
export const composeProject = (desired: ComposeProjectDesired, options?: TaskOptions): ResourceInstance<ComposeProjectDesired> =>
  task(composeProjectResource, desired, options);

// Services of a compose project restarted (always acts: meant as a handler of the files they mount).
export const composeRestart = (desired: ComposeRestartDesired, options?: TaskOptions): ResourceInstance<ComposeRestartDesired> =>
  task(composeRestartResource, desired, options);

// HTTP endpoints answering 2xx/3xx from the host; waits for them and fails with the bad services' logs.
export const httpHealth = (desired: HttpHealthDesired, options?: TaskOptions): ResourceInstance<HttpHealthDesired> =>
  task(httpHealthResource, desired, options);

// Runs the handlers notified so far at this point of the host's tasks (Ansible's flush_handlers),
// e.g. restart Docker for a new daemon.json before a stack starts on it.
export const flushHandlers = (): ResourceInstance<Record<string, never>> =>
  task(
    {
      kind: FLUSH_HANDLERS_KIND,
      describe: () => 'flush handlers',
      facts: () => ({}),
      plan: () => ({ action: 'noop', reason: 'handled by the engine' }),
      invalidates: () => [],
    },
    {},
  );
