// What the halyard-daemon role needs of the daemon when it lays down a config (`halyard/daemon`):
// the config's schema and parser and the check that every file it names is shipped with it.
export { daemonConfigSchema, parseDaemonConfig, type DaemonConfig } from './config.js';
export { checkReferencedFiles, type FileReader, type ReferencedFile } from './check.js';
export { looksLikeSecretName } from '../inventory/secrets.js';
