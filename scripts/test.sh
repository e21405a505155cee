#!/usr/bin/env bash
# The whole test suite: lint, format, types, layer contracts, pytest.
# Installs the Debian packages the tests need when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
BIN="$VENV/bin"

need=()
command -v openssl >/dev/null || need+=(openssl)
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need+=(fonts-dejavu-core)
command -v pdftoppm >/dev/null || need+=(poppler-utils)
command -v chromium >/dev/null || need+=(chromium)
[ -x /usr/sbin/nginx ] || command -v nginx >/dev/null || need+=(nginx)  # the scale-out test
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "== installing ${need[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "!! missing Debian packages (install them as root): ${need[*]}" >&2
  fi
fi

# Scaled-out mode is tested against real PostgreSQL and Redis when this machine runs them.
if [ -z "${WALLETPASS_TEST_DATABASE_URL:-}" ] && (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; then
  export WALLETPASS_TEST_DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:5432/test"
fi
if [ -z "${WALLETPASS_TEST_REDIS_URL:-}" ] && (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null; then
  export WALLETPASS_TEST_REDIS_URL="redis://127.0.0.1:6379/15"
fi

echo "== ruff check";  "$BIN/ruff" check app tests bench migrations
echo "== ruff format"; "$BIN/ruff" format --check app tests bench migrations
echo "== mypy";        "$BIN/mypy"
echo "== import contracts"; "$BIN/lint-imports"
echo "== pytest";      "$BIN/pytest" "$@"
