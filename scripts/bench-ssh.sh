#!/usr/bin/env bash
# Reproduces the SSH scan numbers in docs/benchmarks.md: 20 sshd servers on
# loopback ports, each with its own generated host key, scanned in one run.
# Needs root (sshd does), Debian's openssh-server and openssh-client,
# hyperfine and GNU time, and the shared data beside the repository (or
# VULNLOOP_SHARED_DATA). Every target is this machine, so each host's
# inventory is the same 800-odd-package Debian 12 system.
set -euo pipefail
cd "$(dirname "$0")/.."

hosts=${HOSTS:-20}
parallel=${PARALLEL:-8}
data=${VULNLOOP_SHARED_DATA:-../shared/data}
target_dir=${CARGO_TARGET_DIR:-target}
work=$(mktemp -d)
pids=()
cleanup() {
    # Stop only the sshd processes this script started, by their pids.
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    rm -rf "$work"
}
trap cleanup EXIT

cargo build --release --locked -p vulnloop
bin=$target_dir/release/vulnloop
db=$work/advisories.db
"$bin" db update --from "$data/feeds/debian" --db "$db" >/dev/null 2>&1

mkdir -p /run/sshd
ssh-keygen -q -t ed25519 -N '' -f "$work/client_key"
cp "$work/client_key.pub" "$work/authorized_keys"
: >"$work/known_hosts"
: >"$work/hosts.toml"
base_port=${BASE_PORT:-42200}
for ((i = 0; i < hosts; i++)); do
    port=$((base_port + i))
    ssh-keygen -q -t ed25519 -N '' -f "$work/host_key_$i"
    cat >"$work/sshd_config_$i" <<CONFIG
Port $port
ListenAddress 127.0.0.1
HostKey $work/host_key_$i
AuthorizedKeysFile $work/authorized_keys
PidFile $work/sshd_$i.pid
StrictModes no
UsePAM no
PermitRootLogin prohibit-password
PasswordAuthentication no
MaxStartups 100
CONFIG
    /usr/sbin/sshd -D -e -f "$work/sshd_config_$i" 2>>"$work/sshd.log" &
    pids+=("$!")
    echo "[127.0.0.1]:$port $(cut -d' ' -f1,2 "$work/host_key_$i.pub")" >>"$work/known_hosts"
    printf '[[target]]\nhost = "127.0.0.1"\nport = %d\nuser = "root"\n\n' "$port" >>"$work/hosts.toml"
done
sleep 1

scan=("$bin" scan --offline --exit-code 0 --db "$db" --state "$work/state.db" --targets "$work/hosts.toml"
    --known-hosts "$work/known_hosts" --identity "$work/client_key" --ssh-config /dev/null --parallel "$parallel")

echo "== $hosts hosts over SSH, --parallel $parallel"
env -u SSH_AUTH_SOCK hyperfine -N --warmup 1 --runs 5 "${scan[*]}"
env -u SSH_AUTH_SOCK /usr/bin/time -f 'peak %M KiB, %e s' "${scan[@]}" >/dev/null 2>"$work/time.log" || true
tail -n 1 "$work/time.log"
