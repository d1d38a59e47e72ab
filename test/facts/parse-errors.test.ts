// A probe's output can hold a file's content, a guard's echo or a host's lie: when a parser cannot
// read it, its error names the fact and the position, never the bytes.
import { describe, expect, test } from 'vitest';
import { parseCommandStatus, parseExists } from '../../src/facts/command.js';
import { parseComposeProjectState, parseDockerImageState, parseDockerInfo } from '../../src/facts/docker.js';
import { parsePathState } from '../../src/facts/file.js';
import { parseOsInfo } from '../../src/facts/os.js';
import { parsePackagesInfo } from '../../src/facts/packages.js';
import { parseProbeOutput } from '../../src/facts/probe-script.js';
import { parseServiceInfo } from '../../src/facts/service.js';
import { parseGroupInfo, parseUserInfo } from '../../src/facts/users.js';
import { defineFact } from '../../src/facts/fact.js';

const SECRET = 'c2VjcmV0LVBJTi0xMjM0NTY=';

const parsers: Array<[string, (stdout: string) => unknown]> = [
  ['path', (stdout) => parsePathState('/x', stdout, 0, { withContent: true })],
  ['exists', (stdout) => parseExists('exists:/x', stdout, 0)],
  ['command status', (stdout) => parseCommandStatus('status:x', stdout, 0)],
  ['docker info', (stdout) => parseDockerInfo(stdout, 0)],
  ['docker image', (stdout) => parseDockerImageState('docker-image:x', stdout, 0)],
  ['compose project', (stdout) => parseComposeProjectState('status:compose:x', stdout, 0)],
  ['os', (stdout) => parseOsInfo(stdout, 0)],
  ['packages', (stdout) => parsePackagesInfo('packages:curl', ['curl'], stdout, 0)],
  ['service', (stdout) => parseServiceInfo('service:x', 'x.service', stdout, 0)],
  ['user', (stdout) => parseUserInfo('user:x', 'x', stdout, 0)],
  ['group', (stdout) => parseGroupInfo('group:x', 'x', stdout, 0)],
  ['probe frame', (stdout) => parseProbeOutput(stdout, [defineFact('k', 'true', (text) => text)], 'nonce')],
];

const outputs = [
  `${SECRET}\n`,
  `stat regular file|0|0|root|root|600|24\ncontent ${SECRET}!\n`,
  `stat ${SECRET}\n`,
  `sha256 ${SECRET}\n`,
  `tool ${SECRET}\n`,
  `tool apt\npkg curl\ndpkg ${SECRET}\nnow ${SECRET}\n`,
  `tool apt\ndpkg ${SECRET}\nnow ${SECRET}\n`,
  // Probes of paths print NUL-ended tokens: a hostile host's stat record, hash line and content.
  `stat\0${SECRET}\0${SECRET}\0`,
  `stat\0${SECRET}\x000\x000\0r\0r\x006\0/x\0sha256\0end\0`,
  `stat\x0041ed\x000\x000\0r\0r\x006\0/\0stat\x0081a4\x000\x000\0${SECRET}\0r\x006\0/x\0sha256\0${SECRET}  /x\0end\0`,
  `stat\x0041ed\x000\x000\0r\0r\x006\0/\0sha256\0content\0base64\0${SECRET}!\0end\0`,
  `passwd ${SECRET}\n`,
  `group ${SECRET}\n`,
  `systemd yes\n${SECRET}\n`,
  `cli ${SECRET}\n`,
  `status ${SECRET}\n`,
];

describe('fact parse errors quote positions and sizes, never probe output', () => {
  test.each(parsers)('%s', (_name, parse) => {
    let failures = 0;
    for (const output of outputs) {
      try {
        parse(output);
      } catch (error) {
        failures += 1;
        expect((error as Error).message).not.toContain(SECRET);
        expect((error as Error).message).not.toContain('PIN');
      }
    }
    // Each parser refuses at least one of these outputs, so the table checks real messages.
    expect(failures).toBeGreaterThan(0);
  });
});
