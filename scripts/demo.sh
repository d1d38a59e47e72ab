#!/usr/bin/env bash
# The main job on a local lab fleet, from a fresh Debian 12 machine (as root), in one command:
# prepare the machine, install and build halyard, start lab hosts, lay down the deployment
# guide's files with playbooks/examples/stack-files.ts, then rerun it to show a converged
# fleet costs one remote exec per host.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
HOSTS="${HOSTS:-3}"

bash scripts/setup-machine.sh
[ -d node_modules ] || npm ci --no-audit --no-fund
npm run build --silent

inventory=$(node bin/halyard.js lab up --hosts "$HOSTS" --name demo | tail -n 1)
# Secrets for the demo live in a 0600 vars file (never on a command line), made once.
secrets="$(dirname "$inventory")/secrets.yml"
if [ ! -f "$secrets" ]; then
  umask 077
  printf 'grafana_password: %s\npostgres_password: %s\n' "$(head -c 18 /dev/urandom | base64)" "$(head -c 18 /dev/urandom | base64)" > "$secrets"
fi

echo "== first run: converges $HOSTS lab hosts"
node bin/halyard.js apply playbooks/examples/stack-files.ts -i "$inventory" -e @"$secrets"
echo "== second run: nothing to do, one remote exec per host"
node bin/halyard.js apply playbooks/examples/stack-files.ts -i "$inventory" -e @"$secrets"
echo "== inventory:  $inventory"
echo "== try:        node bin/halyard.js apply playbooks/examples/stack-files.ts -i $inventory -e @$secrets --check --diff"
echo "== clean up:   node bin/halyard.js lab down --name demo"
