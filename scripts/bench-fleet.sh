#!/usr/bin/env bash
# Load benchmark of the fleet server on loopback.
#
# Builds the release binary and the load generator, and writes one
# inventory per captured host in the shared data. Builds an advisory
# database from every feed snapshot, starts `vulnloop server` on 127.0.0.1,
# and runs `fleet_load` against it. AGENTS simulated agents enroll, then
# UPLOADS uploads run with CONCURRENCY requests in flight. The generator
# stops after TIME_LIMIT seconds at the latest. Prints the generator's JSON report and the server's
# peak resident memory (VmHWM), then stops the server.
#
# Usage: scripts/bench-fleet.sh [AGENTS] [UPLOADS] [CONCURRENCY] [TIME_LIMIT]
# Environment: VULNLOOP_DATA (default ../shared/data next to the checkout),
# CARGO_TARGET_DIR (default target), KEEP_WORK=1 keeps the work directory,
# CHANGE_EVERY (default 4): every CHANGE_EVERYth round of uploads carries a
# changed inventory, the others the same one again; 1 changes every upload.
set -euo pipefail

agents=${1:-2000}
uploads=${2:-10000}
concurrency=${3:-32}
time_limit=${4:-900}

repo=$(cd "$(dirname "$0")/.." && pwd)
data=${VULNLOOP_DATA:-$repo/../shared/data}
target=${CARGO_TARGET_DIR:-$repo/target}
work=$(mktemp -d /tmp/vulnloop-bench-fleet.XXXXXX)
server_pid=""

cleanup() {
    if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
        kill "$server_pid"
        wait "$server_pid" 2>/dev/null || true
    fi
    if [[ "${KEEP_WORK:-0}" != 1 ]]; then
        rm -rf "$work"
    fi
}
trap cleanup EXIT

[[ -d "$data/inventories" ]] || { echo "error: no shared data at $data; set VULNLOOP_DATA" >&2; exit 2; }

echo "building release binaries" >&2
cargo build --release --quiet -p vulnloop --bin vulnloop
cargo build --release --quiet -p vulnloop-server --example fleet_load
vulnloop=$target/release/vulnloop
fleet_load=$target/release/examples/fleet_load

# One root filesystem per captured host, then its inventory JSON.
unpack() { mkdir -p "$work/unpacked/$2" && zstd -dc "$data/inventories/$1" | tar -x -C "$work/unpacked/$2"; }
unpack linux/debian12-build-machine-dpkg.tar.zst debian
unpack linux/trivy-testdata-dpkg-apk-osrelease.tar.zst trivy
unpack rpm/go-rpmdb-testdata.tar.zst rpm

mkdir -p "$work/roots/ubuntu/var/lib/dpkg" "$work/roots/alpine/lib/apk/db" "$work/roots/amzn/var/lib/rpm" \
    "$work/roots/mariner/var/lib/rpm" "$work/inventories"
cp "$work/unpacked/trivy/trivy-testdata/dpkg/dpkg" "$work/roots/ubuntu/var/lib/dpkg/status"
cp "$work/unpacked/trivy/trivy-testdata/apk/installed" "$work/roots/alpine/lib/apk/db/installed"
cp "$work/unpacked/rpm/go-rpmdb-testdata/amazonlinux2023-plain/"rpmdb.sqlite* "$work/roots/amzn/var/lib/rpm/"
cp "$work/unpacked/rpm/go-rpmdb-testdata/cbl-mariner-2.0/"rpmdb.sqlite* "$work/roots/mariner/var/lib/rpm/"

inventory() { # NAME ROOT [--os ID:VERSION]
    local name=$1 root=$2
    shift 2
    # Exit code 2 with an inventory on stdout means collection problems, such
    # as the invalid entry in the Alpine test database, which the inventory lists.
    "$vulnloop" inventory --root "$root" --format json "$@" >"$work/inventories/$name.json" \
        || [[ $? == 2 && -s "$work/inventories/$name.json" ]]
}
inventory debian "$work/unpacked/debian/debian12-build-machine"
# The trivy image's dpkg status is from Ubuntu 18.04 (its versions end in
# ubuntu…, and trivy's test names it so); it comes without an os-release.
inventory ubuntu "$work/roots/ubuntu" --os ubuntu:18.04
# musl 1.1.14-r10 and busybox 1.24.2-r9 are the versions of Alpine 3.4.
inventory alpine "$work/roots/alpine" --os alpine:3.4
inventory amzn "$work/roots/amzn" --os amzn:2023
inventory mariner "$work/roots/mariner" --os mariner:2.0

echo "building the advisory database from $data/feeds" >&2
"$vulnloop" db update --from "$data/feeds" --db "$work/advisories.db" >/dev/null

echo "starting the server" >&2
mkfifo "$work/server.out"
"$vulnloop" server --bind 127.0.0.1:0 --data-dir "$work/server" --advisory-db "$work/advisories.db" \
    >"$work/server.out" 2>"$work/server.log" &
server_pid=$!
exec 3<"$work/server.out"
admin_token="" url=""
while read -r line <&3; do
    case $line in
        "admin token: "*) admin_token=${line#admin token: } ;;
        "listening on "*) url=${line#listening on }; break ;;
    esac
done
[[ -n "$url" && -n "$admin_token" ]] || { echo "error: the server did not start; see $work/server.log" >&2; exit 2; }
# Drain the server's stdout, because a full pipe would block the server.
cat <&3 >/dev/null &

# A fleet is mostly one distribution: weights are percentages of the agents.
"$fleet_load" --server "$url" --admin-token "$admin_token" \
    --inventory "$work/inventories/debian.json:70" \
    --inventory "$work/inventories/ubuntu.json:15" \
    --inventory "$work/inventories/amzn.json:7" \
    --inventory "$work/inventories/mariner.json:5" \
    --inventory "$work/inventories/alpine.json:3" \
    --agents "$agents" --uploads "$uploads" --concurrency "$concurrency" --time-limit "$time_limit" \
    --change-every "${CHANGE_EVERY:-4}"

echo "server peak resident memory: $(grep VmHWM "/proc/$server_pid/status" | awk '{print $2, $3}')"
echo "server database size: $(du -k "$work/server/server.db" | cut -f1) KiB"
