#!/usr/bin/env bash
# Reproduces the database build and Debian scan numbers in docs/benchmarks.md.
# Needs hyperfine and GNU time (Debian packages `hyperfine` and `time`) and
# the shared data beside the repository (or VULNLOOP_SHARED_DATA).
set -euo pipefail
cd "$(dirname "$0")/.."

data=${VULNLOOP_SHARED_DATA:-../shared/data}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cargo build --release --locked -p vulnloop
bin=$PWD/target/release/vulnloop
db=$work/advisories.db

# The 759-package Debian 12 build machine, laid out as a root filesystem.
zstd -dc "$data/inventories/linux/debian12-build-machine-dpkg.tar.zst" | tar -x -C "$work"
root=$work/debian12-build-machine

echo "== database build from every feed snapshot"
/usr/bin/time -f 'peak %M KiB, %e s' "$bin" db update --from "$data/feeds" --db "$db" 2>&1 | tail -n 1
echo "database: $(stat -c %s "$db") bytes"
echo "compressed feeds: $(find -L "$data/feeds" -type f -printf '%s\n' | awk '{ s += $1 } END { print s }') bytes"

echo "== scan of the 759-package host with a warm database"
hyperfine -N --warmup 3 --runs 40 "$bin scan --root $root --db $db --exit-code 0 --offline"
/usr/bin/time -f 'peak %M KiB, %e s' "$bin" scan --root "$root" --db "$db" --exit-code 0 --offline >/dev/null

echo "== scan of this machine (live: reads /proc for exposure)"
hyperfine -N --warmup 3 --runs 20 "$bin scan --db $db --exit-code 0 --offline"
