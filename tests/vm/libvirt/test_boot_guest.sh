#!/usr/bin/env bash
# The VM suite's guest (Debian kernel, busybox initramfs with the static
# porthole-agent) booted through a libvirt domain from `vm define --apply`:
# direct kernel boot, the region as <shmem>, the QMP socket from
# <qemu:commandline>. The headless client, started before the VM, checks its
# pattern frames pixel-exact over the domain's region; input sent through the
# domain's QMP socket (porthole's QMP sink) is read back in the guest, event by
# event and in order on each of QEMU's keyboard, virtio tablet and virtio mouse.
# usage: test_boot_guest.sh STATE_DIR PORTHOLE_VFIO GUESTDIR CLIENT SENDER
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
lv_setup "$1" boot "$3"
vfio=$2 guest=$3 client=$4 sender=$5
region=/dev/shm/$LV_NAME qmp=$LV_WORK/qmp.sock console=$LV_WORK/console.log
LV_REGIONS=$region
t0=$SECONDS
# Copies the QEMU user can read wherever the build tree is.
cp "$guest/vmlinuz" "$guest/initrd.gz" "$LV_WORK/"
[ "$(id -u)" -eq 0 ] && chown "$LV_USER" "$LV_WORK/vmlinuz" "$LV_WORK/initrd.gz"

# no_timer_check: see vm_start in ../lib.sh (TCG on a busy host).
"$vfio" vm define "$LV_NAME" --gpu none --os linux --memory 256M --vcpus 1 --virt-type "$LV_VIRT" \
  --kernel "$LV_WORK/vmlinuz" --initrd "$LV_WORK/initrd.gz" \
  --cmdline "console=ttyS0 quiet no_timer_check porthole_test=frames-input" --network none \
  --shm-name "$LV_NAME" --qmp "$qmp" --serial-log "$console" \
  --apply --connect "$LV_URI" >"$LV_WORK/define.log" 2>&1 ||
  { cat "$LV_WORK/define.log"; lv_fail "vm define --apply failed"; }
LV_DOMAINS=$LV_NAME

# The client first: it waits for the region QEMU creates when the domain starts.
"$client" --shm "$region" --headless --stats --verify-pattern --exit-after-frames 40 \
  --timeout 150 --log-level info >"$LV_WORK/client.json" 2>"$LV_WORK/client.log" &
client_pid=$!
LV_PIDS=$client_pid
lv_wait 15 grep -q "waiting for $region" "$LV_WORK/client.log" ||
  { cat "$LV_WORK/client.log"; lv_fail "the client did not wait for the region"; }

lv_virsh start --domain "$LV_NAME" >/dev/null || lv_fail "virsh start failed ($LV_VIRT)"
lv_wait 120 grep -q PORTHOLE-GUEST-UP "$console" || lv_fail "guest did not boot ($LV_VIRT)"
lv_wait 60 grep -q PROBE-READY "$console" || lv_fail "the input probe did not start"
grep -q 'PROBE-DEV .*AT Translated Set 2 keyboard' "$console" || lv_fail "no PS/2 keyboard in the guest"
grep -q 'PROBE-DEV .*Tablet' "$console" || lv_fail "no virtio tablet in the guest"

# Input through the domain's QMP socket, compared event by event.
problem=$(vm_send_and_read_back "$console" "$sender" qmp "$qmp") || lv_fail "$problem"
n=$(wc -l <"$LV_WORK/want.txt")
# Each device's events exactly and in order; between the PS/2 keyboard and the
# virtio mouse and tablet the guest's interrupts decide the order (a loaded host
# delays the keyboard's path more than virtio's).
streams() { awk '{print (($1 == 1 && $2 < 256) ? "keyboard" : ($1 == 3 ? "tablet" : "mouse")), $0}' "$1" | sort -s -k1,1; }
diff -u <(streams "$LV_WORK/want.txt") <(streams "$LV_WORK/got.txt") ||
  lv_fail "the guest read other events than were sent"

# Frames over the <shmem> region.
wait "$client_pid" || { cat "$LV_WORK/client.log"; lv_fail "the client failed"; }
LV_PIDS=""
tail -n1 "$LV_WORK/client.json"
grep -q '"mismatched":0' "$LV_WORK/client.json" || lv_fail "frames differ from the pattern"
grep -q 'IVSHMEM 0000:' "$console" || lv_fail "the agent did not map the PCI BAR"
echo "region $region owned by $(stat -c '%U, mode %a' "$region")"
echo "PASS: guest booted through libvirt ($LV_VIRT), 40 frames pixel-exact over <shmem>, $n events through the domain's QMP socket, in $((SECONDS - t0)) s"
