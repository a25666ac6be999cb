#!/usr/bin/env bash
# Installs what sg's build, tests, examples and benchmarks need on Debian 12, and only
# what is missing. Idempotent and non-interactive: safe to run before every build.
#   scripts/install-deps.sh            # everything
#   scripts/install-deps.sh gnuplot-nox          # and these extra packages (docs tools)
#   SG_DEPS_DRY_RUN=1 scripts/install-deps.sh   # only say what is missing
set -euo pipefail

packages=(
  g++ cmake ninja-build          # toolchain (CMake >= 3.25 for presets v6)
  libboost1.81-dev               # Hana, Asio, unordered_flat_map, system
  librange-v3-dev                # lazy views
  catch2                         # tests (v2)
  libbenchmark-dev               # benchmarks
  libsqlite3-dev                 # the SQLite adapter (sg::sqlite), its tests and the demo
  libpq-dev                      # the PostgreSQL adapter (sg::postgres)
  postgresql                     # local servers for its tests (scripts/pg-cluster.sh)
  "$@"                           # extra packages a caller asks for
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "installed" ]] || missing+=("$p")
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi
echo "install-deps: missing: ${missing[*]}"
[[ -n "${SG_DEPS_DRY_RUN:-}" ]] && exit 0

as_root=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "install-deps: run as root or install sudo" >&2; exit 1; }
  as_root=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null
echo "install-deps: installed ${missing[*]}"
