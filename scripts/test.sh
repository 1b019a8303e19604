#!/usr/bin/env bash
# The README's test command. Installs what the tests need when it is missing (Debian's
# clickhouse-server, a Python venv with chdb-core for checking modern ClickHouse SQL), then runs
# rustfmt, clippy with -D warnings, and every test.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v clickhouse-server >/dev/null && [ ! -x /usr/sbin/clickhouse-server ] && [ -z "${LYCEUM_CLICKHOUSE_SERVER:-}" ]; then
  echo "== installing clickhouse-server (Debian package)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clickhouse-server >/dev/null
fi

# chdb (ClickHouse 26.9 in-process) checks the DDL and SQL generated for modern servers.
venv="${LYCEUM_VENV:-/var/tmp/lyceum-venv}"
if ! "$venv/bin/python" -c 'import chdb' 2>/dev/null; then
  echo "== installing chdb-core into $venv"
  python3 -m venv "$venv" 2>/dev/null || {
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
    python3 -m venv "$venv"
  }
  "$venv/bin/pip" install -q --disable-pip-version-check chdb-core
fi
export LYCEUM_PYTHON="$venv/bin/python"
export RUST_BACKTRACE="${RUST_BACKTRACE:-0}"

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy -D warnings"
cargo clippy --all-targets --locked -- -D warnings
echo "== cargo test"
cargo test --locked
