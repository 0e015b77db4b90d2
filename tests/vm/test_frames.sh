#!/usr/bin/env bash
# Frames through a real ivshmem-plain PCI device: the agent's pattern source in
# the guest, the headless client on the host, started before the VM. Every
# accepted frame is checked pixel-exact, across partial updates and
# resolution changes (320x200 <-> 256x160 every 15 frames).
# usage: test_frames.sh GUESTDIR CLIENT
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
vm_setup "$1" "$(mktemp -d)"
client=$2

vm_run_verifying_client "$client" frames 60 170
grep -q 'IVSHMEM 0000:' "$VM_CONSOLE" || vm_fail "agent did not map the PCI BAR"
echo "guest ($VM_ACCEL): $(grep -m1 'region:' "$VM_CONSOLE" | sed 's/.*region: //')"
echo "PASS: 60 frames verified pixel-exact through ivshmem-plain"
