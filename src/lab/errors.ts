import { HalyardError } from '../core/errors.js';

// Codes for lab failures, so tests and the CLI branch on a code and never on English text.
export type LabErrorCode =
  | 'E_LAB_DOCKER_UNREACHABLE'
  | 'E_LAB_COMMAND_FAILED'
  | 'E_LAB_TIMEOUT'
  | 'E_LAB_IMAGE_BUILD'
  | 'E_LAB_NOT_ROOT'
  | 'E_LAB_BAD_INPUT'
  | 'E_LAB_APT_CACHE';

// One class for everything the local lab fleet can fail at (Docker, debootstrap, waiting for sshd).
export class LabError extends HalyardError {
  constructor(code: LabErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(code, message, options);
  }
}

// The one message every caller shows when the Docker engine is missing or stopped (never a skip).
export const DOCKER_UNREACHABLE_MESSAGE = 'Docker engine not reachable: start dockerd (see .ci/run)';
