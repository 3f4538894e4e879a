#!/usr/bin/env bash
# One entry point that works on a fresh machine: installs what is missing, then runs a task.
#   bash scripts/run.sh demo   – the demo, on a local 3-member etcd cluster it starts itself
#   bash scripts/run.sh test   – every test, against real etcd servers
set -euo pipefail
cd "$(dirname "$0")/.."
task="${1:-}"
case "$task" in demo | test | bench) ;; *)
  echo "usage: bash scripts/run.sh demo|test|bench" >&2
  exit 2
  ;;
esac

sudo_if_needed() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

if ! command -v pnpm >/dev/null 2>&1 || [[ "$(pnpm --version)" != 12.* ]]; then
  echo "etcdkit: installing pnpm 12"
  npm install -g pnpm@12 >/dev/null
fi
if ! command -v etcd >/dev/null 2>&1 || ! command -v etcdctl >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1; then
    echo "etcdkit: installing etcd-server and etcd-client"
    sudo_if_needed apt-get update -qq
    sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq etcd-server etcd-client >/dev/null
  else
    echo "etcdkit: etcd and etcdctl are needed: install them (brew install etcd) or set ETCD_BIN" >&2
  fi
fi
if [ "$task" = test ] && [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null 2>&1; then
  echo "etcdkit: installing chromium (the browser tests drive it)"
  sudo_if_needed apt-get update -qq
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
if [ ! -d node_modules ] || [ pnpm-lock.yaml -nt node_modules/.modules.yaml ]; then
  pnpm install --frozen-lockfile
fi
exec pnpm run "$task"
