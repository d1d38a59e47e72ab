// `npm run test:prepare`: builds and fills everything the e2e tests need on this machine (lab
// images, the apt cache, the stand-in images, the backup host's variant) and waits for it, so a
// cold machine's one-time builds are timed as set-up, not as tests. Idempotent: cached on the
// next run. .ci/run calls it before the test command.
import { prepareLab } from '../test/support/lab-setup.js';

const started = Date.now();
await prepareLab({ log: (message) => process.stderr.write(`[halyard test prepare] ${message}\n`), background: false });
process.stderr.write(`[halyard test prepare] ready in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
