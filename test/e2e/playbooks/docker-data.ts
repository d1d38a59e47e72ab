// Shared by test/e2e/playbooks/docker.ts and test/e2e/docker-role.e2e.test.ts.

/** The compose project's directory and name on the host. */
export const APP_DIR = '/opt/hyapp';
export const APP_PROJECT = 'hyapp';
/** A file the web service mounts read-only; changing it notifies the "restart web" handler. */
export const MOTD_PATH = `${APP_DIR}/motd.txt`;
/** Host port the web service publishes on 127.0.0.1. */
export const WEB_PORT = 18080;
/** A port nothing listens on: the health check of the "broken" service. */
export const BROKEN_PORT = 18081;
/** A line the broken service prints, expected in the health failure's log tail. */
export const BROKEN_LOG_LINE = 'broken-service: listening nowhere';
