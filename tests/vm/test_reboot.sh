#!/usr/bin/env bash
# The guest rebooted while the client runs: guest/init runs the agent for 60
# frames, then `reboot -f`; QEMU restarts the guest (no -no-reboot) over the
# same region file. The client keeps running and reconnects to the agent of
# the next boot; every frame of both boots is pixel-exact.
# usage: test_reboot.sh GUESTDIR CLIENT
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
vm_setup "$1" "$(mktemp -d)"
client=$2

truncate -s 32M "$VM_REGION"
# 80 frames can only be reached after the reboot (60 in the first boot).
"$client" --shm "$VM_REGION" --headless --stats --verify-pattern --exit-after-frames 80 \
  --timeout 120 --log-level info >"$VM_WORK/client.json" 2>"$VM_WORK/client.log" &
client_pid=$!
VM_EXTRA_PIDS=$client_pid
vm_start reboot 32
vm_wait_console PORTHOLE-GUEST-UP 60 || vm_fail "guest did not boot ($VM_ACCEL)"
if ! wait "$client_pid"; then
  cat "$VM_WORK/client.log"; vm_fail "client failed"
fi
tail -n1 "$VM_WORK/client.json"
grep -q '"mismatched":0' "$VM_WORK/client.json" || vm_fail "frames differ from the pattern"
grep -q PORTHOLE-REBOOTING "$VM_CONSOLE" || vm_fail "the guest did not reboot"
boots=$(grep -c PORTHOLE-GUEST-UP "$VM_CONSOLE")
[ "$boots" -ge 2 ] || vm_fail "guest booted $boots times, want 2"
sessions=$(grep -o 'agent connected: .*(session [0-9a-f]*)' "$VM_WORK/client.log" | sort -u | wc -l)
[ "$sessions" -ge 2 ] || { cat "$VM_WORK/client.log"; vm_fail "client saw $sessions sessions, want 2"; }
echo "PASS: client followed the guest across a reboot ($boots boots, $sessions sessions, $VM_ACCEL)"
