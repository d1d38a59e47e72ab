// The public API that playbooks and roles import as 'halyard'.
export { Secret, isSecret, SECRET_MASK } from './core/secret.js';
export { awsSecret, SecretRef, isSecretRef } from './core/secret-ref.js';
export { template, SecretText, type FileContent } from './core/template.js';
export { quote } from './core/shell.js';
export { sh, type ShellScript } from './core/shell.js';
export { definePlaybook, task, type TaskOptions } from './playbook/define.js';
export { defineRole, type Role, type RoleSpec } from './playbook/role.js';
export { defineHostFact, type HostFacts, type CustomFact, type OsFamily } from './facts/host-facts.js';
export {
  file,
  directory,
  absent,
  packages,
  user,
  group,
  service,
  command,
  dockerImage,
  composeProject,
  composeRestart,
  httpHealth,
  upload,
  flushHandlers,
  type DesiredOf,
} from './playbook/tasks.js';
export { localImageId, localImageIds, type DockerImageDesired } from './resources/docker-image.js';
export type { ComposeProjectDesired } from './resources/compose-project.js';
export type { ComposeRestartDesired } from './resources/compose-restart.js';
export type { HttpHealthDesired } from './resources/http-health.js';
export type { UploadDesired, UploadOptions } from './resources/upload.js';
export { roleVars, secretVar, describeRoleVars, z, type RoleVarDoc } from './playbook/role-vars.js';
// YAML text of data, for the config files roles write: the yaml package's stringify, the copy the
// running halyard already holds (a role importing 'yaml' itself loads the package a second time).
export { stringify as toYaml } from 'yaml';
export type { Play, Playbook, HostContext, TaskList, ControllerStep, ControllerContext } from './playbook/types.js';
export { monitorStep } from './monitor/step.js';
export { halyardRelease, projectArchive, type HalyardRelease, type ProjectArchive } from './release/pack.js';
export type { ResourceType, ResourceInstance, Plan, Step } from './resources/types.js';
export type { Host, Inventory } from './inventory/types.js';
