#!/usr/bin/env bash
# Frames through QEMU's ivshmem-doorbell device: porthole-ivshmem-server serves
# the region and the interrupts; the guest's agent rings the client through
# the device's doorbell register after each frame, and the client's waits end
# on those rings. Every frame is checked pixel-exact, as in test_frames.sh.
# usage: test_doorbell.sh GUESTDIR CLIENT SERVER
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
vm_setup "$1" "$(mktemp -d)"
client=$2 server=$3

VM_DOORBELL_SOCKET=$VM_WORK/ivshmem.sock
"$server" --socket "$VM_DOORBELL_SOCKET" --shm "$VM_REGION" --size 32 --mode 0600 \
  >"$VM_WORK/server.log" 2>&1 &
VM_EXTRA_PIDS="${VM_EXTRA_PIDS:-} $!"
for _ in $(seq 50); do [ -S "$VM_DOORBELL_SOCKET" ] && break; sleep 0.1; done
[ -S "$VM_DOORBELL_SOCKET" ] || { cat "$VM_WORK/server.log"; vm_fail "the server did not start"; }

VM_CLIENT_ARGS="--doorbell $VM_DOORBELL_SOCKET"
vm_run_verifying_client "$client" frames 60 170
grep -q 'doorbell: IVSHMEM 0000:' "$VM_CONSOLE" || vm_fail "the agent found no doorbell"
rings=$(tail -n1 "$VM_WORK/client.json" | sed -n 's/.*"doorbell_rings":\([0-9]*\).*/\1/p')
echo "client woken by $rings doorbell rings"
[ "${rings:-0}" -gt 0 ] || vm_fail "no ring reached the client"
grep -q 'peer 1 connected' "$VM_WORK/server.log" || { cat "$VM_WORK/server.log"; vm_fail "QEMU did not connect"; }
echo "PASS: 60 frames verified pixel-exact through ivshmem-doorbell, $rings rings"
