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

truncate -s 32M "$VM_REGION"
"$client" --shm "$VM_REGION" --headless --stats --verify-pattern --exit-after-frames 60 \
  --timeout 200 --log-level info >"$VM_WORK/client.json" 2>"$VM_WORK/client.log" &
client_pid=$!
VM_EXTRA_PIDS=$client_pid
vm_start frames 32
vm_wait_console PORTHOLE-GUEST-UP 60 || vm_fail "guest did not boot ($VM_ACCEL)"
if ! wait "$client_pid"; then
  cat "$VM_WORK/client.log"; vm_fail "client failed"
fi
tail -n1 "$VM_WORK/client.json"
grep -q '"mismatched":0' "$VM_WORK/client.json" || vm_fail "frames differ from the pattern"
grep -q 'IVSHMEM 0000:' "$VM_CONSOLE" || vm_fail "agent did not map the PCI BAR"
echo "guest ($VM_ACCEL): $(grep -m1 'region:' "$VM_CONSOLE" | sed 's/.*region: //')"
echo "PASS: 60 frames verified pixel-exact through ivshmem-plain"
