// The local lab fleet: Debian hosts in Docker containers reachable over SSH on 127.0.0.1.
export { ensureAptCache, fillAptCache, labAptCache, type AptCache } from './apt-cache.js';
export { BASE_IMAGE, BASE_PACKAGES, ensureBaseImage, type BaseImageResult } from './base-image.js';
export { DOCKER_UNREACHABLE_MESSAGE, LabError, type LabErrorCode } from './errors.js';
export { checkDockerEngine, ensureDockerEngine } from './docker.js';
export {
  HOST_IMAGE_REPOSITORY,
  LAB_PASSWORD_USER,
  LAB_SUDO_PASSWORD,
  LAB_USER,
  ensureHostImage,
  type HostImageResult,
} from './host-image.js';
export { ensureHostVariant, type HostVariantResult } from './host-variant.js';
export { labExec, labStart, labStop, regenerateHostKeys } from './host-control.js';
export { readHostKeys } from './host-keys.js';
export { ensureLabKey, type LabKey } from './keys.js';
export { DEFAULT_FLEET_NAME, labDown, labUp, readFleet } from './fleet.js';
export { fleetDir, labCacheDir, labStateDir } from './paths.js';
export {
  DEFAULT_SIM_NAME,
  SIM_DEFAULT_BASE_PORT,
  SIM_MAX_ENDPOINTS,
  simDown,
  simEndpoints,
  simInventory,
  simMaxStartupsDrops,
  simMemory,
  simUp,
  readSimFleet,
  type SimEndpoint,
  type SimFleet,
  type SimUpOptions,
} from './sim-fleet.js';
export type { RunResult } from './process.js';
export { readSshBanner, waitForSshBanner, waitForSystemd } from './wait.js';
export type { LabDownOptions, LabDownResult, LabFleet, LabHost, LabUpOptions } from './types.js';
export { ensureStackTestImages, ensureStackTestImagesDetailed, type StackTestImages } from './stack-images.js';
