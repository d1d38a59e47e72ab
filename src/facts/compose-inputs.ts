import { createHash } from 'node:crypto';
import { sh, type ShellScript } from '../core/shell.js';
import { contentBytes, contentForDisplay, contentIsSecret, contentSha256, type FileContent } from '../core/template.js';

// The files docker compose reads to hash a project's services, as the run's earlier tasks leave
// them for `up`: the compose file and the project's .env. A compose fact given them hashes these
// (staged in a private temporary directory) instead of what is on the host now, so check mode,
// which writes nothing, predicts what apply's `up` will do after those tasks restored a drifted file.
export interface ComposeInputs {
  /** The compose file's content as `up` will read it. */
  composeFile: FileContent;
  /** The project's .env as `up` will read it; absent: compose reads the .env in the project directory. */
  envFile?: FileContent;
}

/** The staged copies inside the temporary directory "$s". */
const STAGED_COMPOSE = '"$s/compose.yml"';
const STAGED_ENV = '"$s/env"';

// A short name of the inputs for fact keys; secret content counts by its masked form only, so the
// key (shown in errors) gives nothing of a secret away.
export function composeInputsDigest(inputs: ComposeInputs): string {
  const part = (content: FileContent | undefined) =>
    content === undefined ? '-' : contentIsSecret(content) ? `masked:${contentForDisplay(content) ?? ''}` : `sha256:${contentSha256(content)}`;
  return createHash('sha256').update(`${part(inputs.composeFile)}\n${part(inputs.envFile)}`).digest('hex').slice(0, 12);
}

// Shell for a compose fact's subshell: writes the inputs into a private temporary directory "$s"
// (mktemp -d: mode 0700), removed when the subshell exits; a failure becomes the fact's hash-error.
export function stageComposeInputs(inputs: ComposeInputs): ShellScript[] {
  return [
    sh`s=$(mktemp -d 2>/dev/null) || { echo 'hash-error cannot make a temporary directory for the compose files (mktemp -d)'; exit 0; }`,
    sh`trap 'rm -rf -- "$s"' EXIT`,
    ...writeBase64(STAGED_COMPOSE, inputs.composeFile),
    ...(inputs.envFile === undefined ? [] : writeBase64(STAGED_ENV, inputs.envFile)),
  ];
}

// Compose's options naming the staged files, with the project directory where `up` runs, so
// relative paths and the project resolve as they will for `up` (compose v1 and v2 alike).
export function stagedComposeOptions(dir: string, inputs: ComposeInputs): ShellScript {
  const env = inputs.envFile === undefined ? sh`` : sh` --env-file ${sh.trusted(STAGED_ENV)}`;
  return sh`--project-directory ${dir} -f ${sh.trusted(STAGED_COMPOSE)}${env}`;
}

// Here-document data under a quoted delimiter, inserted as is: base64 holds only letters, digits, '+', '/' and '='.
function writeBase64(target: string, content: FileContent): ShellScript[] {
  const base64 = contentBytes(content).toString('base64').replace(/(.{76})/g, '$1\n');
  return [
    sh`base64 -d > ${sh.trusted(target)} <<'HALYARD_EOF' || { echo 'hash-error cannot write the staged compose files'; exit 0; }`,
    sh.trusted(base64),
    sh`HALYARD_EOF`,
  ];
}
