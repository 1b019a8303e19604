#!/usr/bin/env bash
# The README's test command. Installs what the tests need when it is missing (Debian's
# clickhouse-server, gnome-keyring and dbus for a headless Secret Service, Mesa's lavapipe Vulkan driver, a Python venv with
# chdb-core for checking modern ClickHouse SQL), then runs
# rustfmt, clippy with -D warnings, and every test.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v clickhouse-server >/dev/null && [ ! -x /usr/sbin/clickhouse-server ] && [ -z "${LYCEUM_CLICKHOUSE_SERVER:-}" ]; then
  echo "== installing clickhouse-server (Debian package)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clickhouse-server >/dev/null
fi

# kill and pkill: the local provider stops nodes with them, tests kill a node with them.
if ! command -v pkill >/dev/null || ! command -v kill >/dev/null; then
  echo "== installing procps"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq procps >/dev/null
fi

# A headless Secret Service for the keychain test.
if ! command -v gnome-keyring-daemon >/dev/null || ! command -v dbus-run-session >/dev/null; then
  echo "== installing gnome-keyring and dbus"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gnome-keyring dbus >/dev/null
fi

# Mesa's lavapipe: a software Vulkan driver for the headless wgpu renderer and UI snapshots.
if [ ! -e /usr/share/vulkan/icd.d/lvp_icd.x86_64.json ] && ! ls /usr/share/vulkan/icd.d/lvp_icd*.json >/dev/null 2>&1; then
  echo "== installing mesa-vulkan-drivers (lavapipe)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mesa-vulkan-drivers libvulkan1 >/dev/null
fi
# Xvfb and xwd: the window test opens the real binary on a virtual display and captures it.
if ! command -v Xvfb >/dev/null || ! command -v xwd >/dev/null; then
  echo "== installing xvfb and x11-apps"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq xvfb x11-apps >/dev/null
fi
# Mesa's EGL and GL drivers: the window test forces wgpu's GL backend too.
if ! ldconfig -p | grep -q 'libEGL_mesa.so.0'; then
  echo "== installing Mesa's EGL / GL drivers"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libegl1 libegl-mesa0 libgl1-mesa-dri >/dev/null
fi
# wgpu and Mesa want a private runtime dir.
if [ -z "${XDG_RUNTIME_DIR:-}" ] || [ ! -d "$XDG_RUNTIME_DIR" ]; then
  export XDG_RUNTIME_DIR="$(mktemp -d /tmp/lyceum-runtime.XXXXXX)"
  chmod 0700 "$XDG_RUNTIME_DIR"
fi

# chdb (ClickHouse 26.9 in-process) checks the DDL and SQL generated for modern servers;
# pyarrow and polars check that datasets open in the tools data people use; schemathesis
# fuzzes the control plane from its own OpenAPI document; tsdownsample is the baseline
# `lyceum bench` measures decimation against.
venv="${LYCEUM_VENV:-/var/tmp/lyceum-venv}"
if ! "$venv/bin/python" -c 'import chdb, pyarrow, polars, schemathesis, tsdownsample' 2>/dev/null; then
  echo "== installing chdb-core, pyarrow, polars, schemathesis and tsdownsample into $venv"
  python3 -m venv "$venv" 2>/dev/null || {
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
    python3 -m venv "$venv"
  }
  "$venv/bin/pip" install -q --disable-pip-version-check chdb-core pyarrow polars schemathesis tsdownsample
fi
export LYCEUM_PYTHON="$venv/bin/python"
export RUST_BACKTRACE="${RUST_BACKTRACE:-0}"

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy -D warnings"
cargo clippy --all-targets --all-features --locked -- -D warnings
echo "== cargo test"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
cargo test --locked 2>&1 | tee "$log"
# The benchmark command lives behind a feature: its smoke test builds it once more.
cargo test --locked --features bench --test bench 2>&1 | tee -a "$log"
# One closing line over every test binary.
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($i ~ /^passed;?$/) p += $(i-1); if ($i ~ /^failed;?$/) f += $(i-1) } }
     END { printf "%d passed, %d failed\n", p, f }' "$log"
