// Paths and contents shared by playbooks/resources.ts and resources.e2e.test.ts (no halyard import).
export const DIR = '/srv/hy';
export const HANDLER_LOG = '/var/log/hy-handlers.log';
export const UNIT_PATH = '/etc/systemd/system/hy-demo.service';
export const CONFIG_PATH = '/etc/hy-demo.conf';
/** The unit copies its config here when it starts, so a restart is visible in what it read. */
export const SEEN_PATH = '/run/hy-demo.seen';

export const UNIT = `[Unit]
Description=halyard e2e demo service

[Service]
ExecStart=/bin/sh -c 'cat ${CONFIG_PATH} > ${SEEN_PATH}; exec sleep infinity'

[Install]
WantedBy=multi-user.target
`;

export const LITERAL = 'literal content\nsecond line, no trailing newline';
