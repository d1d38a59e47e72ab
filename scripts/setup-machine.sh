#!/usr/bin/env bash
# Prepares a Debian 12 machine (as root) for halyard's lab and tests: apt packages, a running
# Docker engine. Idempotent. Sourced by .ci/run (which times each step) and run by `npm run demo`.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

# apt-cacher-ng: the package cache lab hosts use (started by the lab and the test setup, not here).
# ansible-core: the oracle that inventory tests compare halyard's reading with (Debian's 2.14).
# prometheus: for promtool, which lints the halyard daemon's /metrics (test/roles/halyard-dashboard.test.ts).
# time: GNU time, with which `npm run bench` measures the OpenSSH clients' CPU and memory.
# systemd, python3: systemd-notify, which the daemon runs under Type=notify, against a notify socket
# a python3 script holds (test/daemon/service-manager.test.ts); present on most machines already.
REQUIRED_PACKAGES=(docker.io debootstrap openssh-client ca-certificates busybox-static apt-cacher-ng ansible-core zsh prometheus time systemd python3)
DOCKERD_LOG=/var/log/dockerd.log
DOCKERD_WAIT_SECONDS=60

log() { printf '[setup %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
die() { printf '[setup] ERROR: %s\n' "$*" >&2; exit 1; }

check_prerequisites() {
  [ "$(id -u)" -eq 0 ] || die "run as root (apt-get, dockerd and debootstrap need it)"
  command -v node >/dev/null || die "node is not installed (halyard needs Node.js >= 20)"
  local major
  major=$(node -p 'process.versions.node.split(".")[0]')
  [ "$major" -ge 20 ] || die "Node.js $(node -v) is too old: halyard needs >= 20"
  command -v npm >/dev/null || die "npm is not installed"
  log "node $(node -v), npm $(npm -v)"
}

install_packages() {
  local missing=() pkg
  for pkg in "${REQUIRED_PACKAGES[@]}"; do
    if ! dpkg-query -W -f '${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
      missing+=("$pkg")
    fi
  done
  if [ "${#missing[@]}" -eq 0 ]; then
    log "packages present: ${REQUIRED_PACKAGES[*]}"
    return 0
  fi
  log "installing: ${missing[*]}"
  apt-get update -q
  # Services these packages would start at install (the Prometheus server, node-exporter, the
  # package cache) are not wanted here: the lab starts what it needs. policy-rc.d says so to the
  # packages' scripts, only for this install, and only where no policy exists already.
  local own_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod 0755 /usr/sbin/policy-rc.d && own_policy=1
  fi
  local status=0
  apt-get install -y -q "${missing[@]}" || status=$?
  [ "$own_policy" -eq 0 ] || rm -f /usr/sbin/policy-rc.d
  return "$status"
}

docker_answers() { timeout 20 docker info >/dev/null 2>&1; }

start_docker() {
  if docker_answers; then
    log "Docker engine already running: $(docker info --format '{{.ServerVersion}}' 2>/dev/null)"
    return 0
  fi
  # A pid file left by a dockerd that died makes the next one refuse to start.
  if [ -f /var/run/docker.pid ] && ! kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; then
    rm -f /var/run/docker.pid
  fi
  if ! pgrep -x dockerd >/dev/null; then
    log "starting dockerd (log: ${DOCKERD_LOG})"
    setsid dockerd >>"$DOCKERD_LOG" 2>&1 </dev/null &
  else
    log "dockerd process exists but does not answer yet; waiting"
  fi
  local waited=0
  until docker_answers; do
    if [ "$waited" -ge "$DOCKERD_WAIT_SECONDS" ]; then
      tail -n 30 "$DOCKERD_LOG" >&2 || true
      die "Docker engine not reachable after ${DOCKERD_WAIT_SECONDS} s (see ${DOCKERD_LOG})"
    fi
    sleep 1
    waited=$((waited + 1))
  done
  log "Docker engine $(docker info --format '{{.ServerVersion}}') answered after ${waited} s"
}


# Run directly: every step in order.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  check_prerequisites
  install_packages
  start_docker
fi
