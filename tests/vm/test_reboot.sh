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

# 80 frames can only be reached after the reboot (60 in the first boot).
vm_run_verifying_client "$client" reboot 80 170
grep -q PORTHOLE-REBOOTING "$VM_CONSOLE" || vm_fail "the guest did not reboot"
boots=$(grep -c PORTHOLE-GUEST-UP "$VM_CONSOLE")
[ "$boots" -ge 2 ] || vm_fail "guest booted $boots times, want 2"
sessions=$(vm_client_sessions)
[ "$sessions" -ge 2 ] || { cat "$VM_WORK/client.log"; vm_fail "client saw $sessions sessions, want 2"; }
echo "PASS: client followed the guest across a reboot ($boots boots, $sessions sessions, $VM_ACCEL)"
