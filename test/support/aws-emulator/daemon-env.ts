import { Secret } from '../../../src/core/secret.js';
import type { AwsEmulator } from './index.js';

// halyard_daemon_environment for a daemon on a lab host that talks to this emulator (through a
// tunnel: the endpoint is in the daemon file): its test keys, the secret one as a Secret, IMDS off.
export function emulatorEnvironment(aws: AwsEmulator): Record<string, string | Secret> {
  return {
    AWS_ACCESS_KEY_ID: aws.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: new Secret(aws.credentials.secretAccessKey, 'AWS_SECRET_ACCESS_KEY'),
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
}
