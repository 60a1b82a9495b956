#!/usr/bin/env bash
# Build a minimal Debian bookworm root filesystem for the fix tests and cache
# it as a zstd-compressed tarball.
#
# Usage: scripts/debian-chroot.sh DIR
#
# DIR is the build directory for debootstrap; it must be absent or empty.
# The tarball goes to ${VULNLOOP_CHROOT_CACHE:-$HOME/.cache/vulnloop}/bookworm-minbase.tar.zst,
# and its path is printed on stdout. When the tarball exists, nothing is
# built and DIR is left untouched. Delete the tarball to build a new one.
#
# Needs root (debootstrap creates device nodes and files owned by other
# users), debootstrap, tar, zstd and access to http://deb.debian.org/debian.
set -euo pipefail

if [[ $# -ne 1 ]]; then
    echo "usage: $0 DIR (an absent or empty build directory)" >&2
    exit 2
fi
build_dir=$1
cache_dir=${VULNLOOP_CHROOT_CACHE:-$HOME/.cache/vulnloop}
tarball=$cache_dir/bookworm-minbase.tar.zst

if [[ -s $tarball ]]; then
    echo "reusing the cached chroot tarball $tarball" >&2
    echo "$tarball"
    exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
    echo "error: building the chroot needs root, because debootstrap creates device nodes and chowns files" >&2
    exit 1
fi
for tool in debootstrap tar zstd; do
    if ! command -v "$tool" >/dev/null; then
        echo "error: $tool is missing; install it with: apt-get install -y --no-install-recommends $tool" >&2
        exit 1
    fi
done
if [[ -e $build_dir && -n $(ls -A "$build_dir") ]]; then
    echo "error: build directory $build_dir is not empty; give an absent or empty directory" >&2
    exit 1
fi

mkdir -p "$build_dir" "$cache_dir"
debootstrap --variant=minbase bookworm "$build_dir" http://deb.debian.org/debian >&2

# Drop the package lists and downloaded .deb files: the tests use only their
# own local repository, and a smaller tarball unpacks faster.
rm -rf "$build_dir"/var/lib/apt/lists/* "$build_dir"/var/cache/apt/archives/*.deb

# Write to a temporary name and rename, so an interrupted run never leaves a
# truncated tarball that the next run would reuse.
partial=$(mktemp "$cache_dir/bookworm-minbase.XXXXXX.partial")
trap 'rm -f "$partial"' EXIT
tar -C "$build_dir" --numeric-owner -cf - . | zstd -q -T0 -f -o "$partial"
mv "$partial" "$tarball"
trap - EXIT
echo "built the chroot tarball $tarball" >&2
echo "$tarball"
