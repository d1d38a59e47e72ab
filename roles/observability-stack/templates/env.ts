import { Secret, template, type SecretText } from 'halyard';
import { INTERNAL_PORTS, type StackModel } from '../model.js';
import { MANAGED } from './yaml.js';

// Characters a single-quoted .env value cannot carry the same way in docker-compose v1
// (python-dotenv) and v2 (compose-go): the quote itself, backslash, line breaks.
const UNSAFE_IN_ENV = /['\\\r\n]/;

// Fails (naming the var, never the value) when a secret cannot be written to .env verbatim.
export function checkEnvSecret(name: string, secret: Secret): void {
  if (UNSAFE_IN_ENV.test(secret.reveal())) {
    throw new Error(`role observability-stack: var ${name}: contains a quote, a backslash or a line break, which .env cannot carry`);
  }
}

// .env (mode 0600): the only file holding secrets. docker compose reads it for the ${VAR}
// references of docker-compose.yml; values are single-quoted (taken literally, no $ expansion).
export function envFile(model: StackModel): SecretText {
  const v = model.vars;
  checkEnvSecret('grafana_admin_password', model.grafanaAdminPassword);
  checkEnvSecret('postgres_password', model.postgresPassword);
  const encoded = new Secret(encodeURIComponent(model.postgresPassword.reveal()), 'postgres_password (URL-encoded)');
  return template`# ${MANAGED}
# Secrets of the compose project (mode 0600), referenced as \${VAR} by docker-compose.yml.
COMPOSE_PROJECT_NAME=${model.project}
GRAFANA_ADMIN_PASSWORD='${model.grafanaAdminPassword}'
POSTGRES_PASSWORD='${model.postgresPassword}'
DATABASE_URL='postgresql://${v.postgres_user}:${encoded}@postgres:${INTERNAL_PORTS.postgres}/${v.postgres_db}'
`;
}
