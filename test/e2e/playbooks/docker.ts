import { composeProject, composeRestart, definePlaybook, dockerImage, file, directory, httpHealth, localImageId, type HostContext, type TaskList } from 'halyard';
import { docker } from '../../../roles/docker/index.js';
import { APP_DIR, APP_PROJECT, BROKEN_LOG_LINE, BROKEN_PORT, MOTD_PATH, WEB_PORT } from './docker-data.js';

// The docker role, then (stage app|broken) a tiny image shipped from the controller and a compose project
// running it, checked over HTTP; used by test/e2e/docker-role.e2e.test.ts. Vars: stage, image_ref,
// compose_revision, motd_revision.

function composeFile(image: string, revision: string, broken: boolean): string {
  const web = `  web:
    image: ${image}
    command: ["httpd", "-f", "-p", "8080", "-h", "/www"]
    environment:
      REVISION: "${revision}"
    ports:
      - "127.0.0.1:${WEB_PORT}:8080"
    volumes:
      - ./motd.txt:/www/motd.txt:ro
    restart: unless-stopped
    stop_grace_period: 1s
`;
  const sleeper = `  worker:
    image: ${image}
    command: ["sleep", "100000"]
    restart: unless-stopped
    stop_grace_period: 1s
`;
  const bad = `  broken:
    image: ${image}
    command: ["sh", "-c", "echo '${BROKEN_LOG_LINE}'; exec sleep 100000"]
    stop_grace_period: 1s
`;
  return `version: "3"\nservices:\n${web}${sleeper}${broken ? bad : ''}`;
}

function app(host: HostContext): TaskList {
  const stage = String(host.vars.stage ?? 'docker');
  if (stage === 'docker') return [];
  const image = String(host.vars.image_ref);
  const broken = stage === 'broken';
  const id = localImageId(image);
  return [
    dockerImage({ ref: image, id }),
    directory({ path: APP_DIR, owner: 'root', group: 'root', mode: '0755' }),
    file({ path: MOTD_PATH, content: `motd ${String(host.vars.motd_revision ?? '1')}\n`, mode: '0644' }, { notify: 'restart web' }),
    file({ path: `${APP_DIR}/docker-compose.yml`, content: composeFile(image, String(host.vars.compose_revision ?? '1'), broken), mode: '0644' }),
    // expectImages: --check predicts the recreate a new image under the same tag brings.
    composeProject({ dir: APP_DIR, project: APP_PROJECT, expectImages: { [image]: id } }),
    httpHealth({
      dir: APP_DIR,
      project: APP_PROJECT,
      checks: [
        { service: 'web', url: `http://127.0.0.1:${WEB_PORT}/` },
        ...(broken ? [{ service: 'broken', url: `http://127.0.0.1:${BROKEN_PORT}/` }] : []),
      ],
      timeoutSeconds: broken ? 4 : 60,
    }),
  ];
}

export default definePlaybook({
  name: 'docker role',
  hosts: 'all',
  roles: [docker],
  tasks: (host) => app(host),
  handlers: () => ({
    'restart web': composeRestart({ dir: APP_DIR, project: APP_PROJECT, services: ['web'] }),
  }),
});
