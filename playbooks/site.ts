import { definePlaybook, monitorStep } from 'halyard';
import { docker } from '../roles/docker/index.js';
import { halyardDaemon } from '../roles/halyard-daemon/index.js';
import { observabilityStack } from '../roles/observability-stack/index.js';

// The whole fleet from an inventory: Docker, then the LGTM stack started healthy with Grafana
// provisioned. --limit, --check, --diff and --serial apply as to any playbook. Each role brings its
// handlers and needs root (become).
export default definePlaybook({
  name: 'site',
  hosts: 'all',
  roles: [
    // 1. Docker Engine and Compose, daemon.json with log rotation, deploy user in the docker group.
    docker,
    // 2. Secrets: inventory vars tagged `!aws_secret name#key` are fetched from AWS Secrets Manager
    //    on the controller before this runs and reach the stack role as Secret values.
    // 3. The observability stack: data dirs, configs, provisioning, .env (0600), TLS, compose up, health.
    observabilityStack,
    // 4. Backups, probes and drift checks: hosts with a `halyard_daemon_config` var get the halyard
    //    daemon as a systemd service (this controller's node and halyard, no npm on the host); the
    //    role does nothing on other hosts.
    halyardDaemon,
  ],
  // 5. Self-monitoring, once on the controller after the hosts: with `-e monitor_config=monitor.yml`
  //    the SNS topic and CloudWatch alarms are reconciled (same as `halyard monitor apply`; --check too).
  afterHosts: [monitorStep()],
});
