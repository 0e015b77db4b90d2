#!/usr/bin/env bash
# Input into a real guest, compared event by event with what was sent.
#   region: vm-input-send attaches to the region as the host and writes the
#           agent's input ring; the agent injects with uinput.
#   pad:    as region, a gamepad script in pad slot 1: the agent creates its
#           uinput pad ("Porthole gamepad 1") and every event must come from it;
#           the probe plays a rumble effect on that pad (EVIOCSFF) and the
#           sender must read its records from the agent's pad feedback ring.
#   qmp:    vm-input-send uses the client's QMP sink (input-send-event) on
#           QEMU's PS/2 keyboard, virtio tablet and virtio mouse.
#   evdev-agent, evdev-qmp: porthole itself, --input evdev on a keyboard and
#           a mouse faked with umockdev (vm-evdev-client types on them after
#           the ctrl-ctrl hotkey), delivering to the agent or to QEMU.
# In all, porthole-input-probe in the guest prints every evdev event it reads
# on the serial console; the key/rel/abs events must equal the sent ones.
# usage: test_input.sh GUESTDIR region|pad|qmp SENDER
#        test_input.sh GUESTDIR evdev-agent|evdev-qmp SENDER PORTHOLE
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
vm_setup "$1" "$(mktemp -d)"
mode=$2 sender=$3 porthole=${4:-}

case "$mode" in
  region | pad | evdev-agent)
    vm_start input 32
    vm_wait_console 'PROBE-DEV .* Porthole tablet' 90 || vm_fail "probe did not see the agent's uinput devices"
    ;;
  qmp | evdev-qmp)
    vm_start probe-input 32 -device virtio-tablet-pci -device virtio-mouse-pci
    vm_wait_console 'PROBE-READY' 90 || vm_fail "probe did not start ($VM_ACCEL)"
    grep -q 'PROBE-DEV .*AT Translated Set 2 keyboard' "$VM_CONSOLE" || vm_fail "no PS/2 keyboard in the guest"
    grep -q 'PROBE-DEV .*Tablet' "$VM_CONSOLE" || vm_fail "no virtio tablet in the guest"
    ;;
  *) vm_fail "unknown mode $mode" ;;
esac
case "$mode" in
  region) send=("$sender" region "$VM_REGION") ;;
  pad) send=("$sender" pad "$VM_REGION") ;;
  qmp) send=("$sender" qmp "$VM_QMP") ;;
  evdev-agent) send=("$sender" agent "$VM_REGION" "$porthole") ;;
  evdev-qmp) send=("$sender" qmp "$VM_REGION" "$porthole" "$VM_QMP") ;;
esac
problem=$(vm_send_and_read_back "$VM_CONSOLE" "${send[@]}") || vm_fail "$problem ($mode)"
n=$(wc -l <"$VM_WORK/want.txt")
if ! diff -u "$VM_WORK/want.txt" "$VM_WORK/got.txt"; then
  grep PROBE "$VM_CONSOLE" | tr -d '\r' | head -n 40
  vm_fail "the guest read other events than were sent ($mode)"
fi
if [ "$mode" = pad ]; then
  node=$(tr -d '\r' <"$VM_CONSOLE" | awk '/^PROBE-DEV .* Porthole gamepad 1$/{print $2; exit}')
  [ -n "$node" ] || vm_fail "the agent created no uinput pad"
  others=$(tr -d '\r' <"$VM_CONSOLE" | awk -v n="$node" '/^PROBE-EV/ && $2 != n' | wc -l)
  [ "$others" -eq 0 ] || vm_fail "$others pad events came from another device than $node"
  tr -d '\r' <"$VM_CONSOLE" | grep -q "^PROBE-FF $node " ||
    vm_fail "the probe's rumble on the agent's pad failed: $(grep -a PROBE-FF "$VM_CONSOLE" | tr -d '\r')"
  grep -q '^FEEDBACK-OK' "$VM_WORK/sender.log" || vm_fail "the rumble's records did not reach the host"
  grep '^FEEDBACK' "$VM_WORK/sender.log"
fi
echo "PASS: $n events through $mode read back identically in the guest ($VM_ACCEL)"
