#!/usr/bin/env bash
# vm define through a real libvirtd, with no GPU (this machine has none):
# a Windows 11 domain in install mode (a disk, the installer and virtio ISOs),
# 2560x1440. It validates with virt-xml-validate, is defined (a second define
# without --force is refused; with it, the domain is replaced keeping its UUID,
# its old XML backed up), and starts (TCG, or KVM where it works)
# on OVMF with Secure Boot and a swtpm TPM. Its region appears in /dev/shm at
# the size for the resolution, its QMP socket takes input, and QEMU's command
# line (the running process's, and virsh domxml-to-native's) has the devices.
# doctor --domain reads the domain back; vm finish-install takes the install
# mode out, keeps a backup, changes nothing the second time, and the result
# starts again.
# usage: test_define_start.sh STATE_DIR PORTHOLE_VFIO GUESTDIR SENDER
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
lv_setup "$1" define "$3"
vfio=$2 sender=$4
shm=$LV_NAME region=/dev/shm/$LV_NAME qmp=$LV_WORK/qmp.sock
LV_REGIONS=$region
backups=$LV_WORK/backups  # --backup-dir: never the real /var/lib/porthole-vfio

truncate -s 64M "$LV_WORK/disk.img"
echo "installer" >"$LV_WORK/win11.iso"
echo "drivers" >"$LV_WORK/virtio-win.iso"
[ "$(id -u)" -eq 0 ] && chown "$LV_USER" "$LV_WORK"/*

args=(vm define "$LV_NAME" --gpu none --memory 512M --vcpus 1 --virt-type "$LV_VIRT"
  --disk "$LV_WORK/disk.img" --iso "$LV_WORK/win11.iso" --virtio-iso "$LV_WORK/virtio-win.iso"
  --network user --shm-name "$shm" --qmp "$qmp" --width 2560 --height 1440)

"$vfio" "${args[@]}" >"$LV_WORK/domain.xml" || lv_fail "vm define (print) failed"
virt-xml-validate "$LV_WORK/domain.xml" domain || lv_fail "libvirt's schema refuses the domain"

"$vfio" "${args[@]}" --apply --connect "$LV_URI" >"$LV_WORK/define.log" 2>&1 ||
  { cat "$LV_WORK/define.log"; lv_fail "vm define --apply failed"; }
LV_DOMAINS=$LV_NAME
grep -q "defined the domain $LV_NAME" "$LV_WORK/define.log" || lv_fail "no confirmation"
if "$vfio" "${args[@]}" --apply --connect "$LV_URI" >"$LV_WORK/again.log" 2>&1; then
  lv_fail "a second vm define --apply replaced the domain without --force"
fi
grep -q "already exists" "$LV_WORK/again.log" || { cat "$LV_WORK/again.log"; lv_fail "no reason given"; }
# With --force it is replaced, its old XML kept first.
lv_virsh dumpxml --inactive --security-info --domain "$LV_NAME" >"$LV_WORK/defined.xml"
"$vfio" "${args[@]}" --apply --force --backup-dir "$LV_WORK/replaced" --connect "$LV_URI" \
  >"$LV_WORK/force.log" 2>&1 || { cat "$LV_WORK/force.log"; lv_fail "vm define --apply --force failed"; }
cmp -s "$LV_WORK/defined.xml" "$LV_WORK"/replaced/"$LV_NAME"-*.xml ||
  lv_fail "--force did not keep the replaced domain's XML"
grep -q "<uuid>$(lv_virsh domuuid --domain "$LV_NAME")</uuid>" "$LV_WORK/defined.xml" ||
  lv_fail "--force gave the domain a new UUID"

lv_virsh start --domain "$LV_NAME" >/dev/null || lv_fail "virsh start failed ($LV_VIRT)"
lv_wait 30 test -S "$qmp" || lv_fail "no QMP socket at $qmp"
lv_wait 30 test -f "$region" || lv_fail "no region at $region"
size=$(stat -c %s "$region")
[ "$size" -eq $((64 * 1024 * 1024)) ] || lv_fail "region is $size bytes, 2560x1440 needs 64 MiB"
echo "region $region: $size bytes, owner $(stat -c '%U mode %a' "$region")"

# What QEMU really runs with.
lv_qemu_argv "$LV_NAME" >"$LV_WORK/argv.txt"
lv_expect_lines "running QEMU" "$LV_WORK/argv.txt" \
  '"qom-type":"memory-backend-file".*"mem-path":"/dev/shm/'"$shm"'".*"share":true' \
  '"driver":"ivshmem-plain"' 'hv-vendor-id=porthole00' 'kvm=off' '^-qmp$' \
  "^unix:$qmp,server=on,wait=off$" 'OVMF_CODE_4M.ms.fd' 'smm=on' '"driver":"tpm-crb"' \
  '"driver":"virtio-net-pci"' '"driver":"virtio-blk-pci"' '"driver":"ide-cd"' '^-spice$' \
  '"driver":"qxl-vga"' '"driver":"usb-tablet"' 'kernel_irqchip=on'
ps -eo args | grep -q "^/usr/bin/swtpm socket .*$LV_ROOT" || lv_fail "no swtpm for the TPM"
lv_virsh domstate --domain "$LV_NAME" | grep -q running || lv_fail "the domain is not running"

# The domain's QMP socket, as porthole --input-to qmp uses it: every batch accepted
# (QEMU refuses input while the VM is paused, so this needs it running).
timeout 60 "$sender" qmp "$qmp" >"$LV_WORK/sent.txt" 2>"$LV_WORK/sender.log" ||
  { cat "$LV_WORK/sender.log"; lv_fail "QEMU's QMP socket did not accept porthole's input"; }

# virsh domxml-to-native: a session daemon turns every NIC into a tap it cannot
# open, so it converts the same domain printed with --network none.
nonet=()
for a in "${args[@]}"; do [ "$a" = user ] && a=none; nonet+=("$a"); done
"$vfio" "${nonet[@]}" >"$LV_WORK/nonet.xml" || lv_fail "vm define --network none failed"
lv_virsh domxml-to-native qemu-argv --xml "$LV_WORK/nonet.xml" | tr ' ' '\n' >"$LV_WORK/native.txt" ||
  lv_fail "virsh domxml-to-native failed"
lv_expect_lines "domxml-to-native" "$LV_WORK/native.txt" \
  'memory-backend-file' 'ivshmem-plain' 'hv-vendor-id=porthole00' 'kvm=off' '^-qmp$' \
  "^unix:$qmp,server=on,wait=off$"
lv_virsh destroy --domain "$LV_NAME" >/dev/null

# doctor reads the defined domain back (the resolution from vm define's record).
"$vfio" doctor --no-rom --domain "$LV_NAME" --connect "$LV_URI" >"$LV_WORK/doctor.txt" || true
lv_expect_lines "doctor --domain" "$LV_WORK/doctor.txt" \
  '^\[pass\] domain machine' '^\[pass\] domain firmware: UEFI firmware /usr/share/OVMF/OVMF_CODE_4M.ms.fd' \
  '^\[pass\] domain shmem: .*holds 2560x1440' "^\[pass\] domain qmp: QMP socket $qmp" \
  '^\[pass\] domain hyperv' '^\[pass\] domain kvm-hidden' '^\[pass\] domain cputune' \
  '^\[warn\] domain install-mode' '^\[warn\] domain gpu: no GPU' '^\[(pass|warn|fail)\] swtpm'

# finish-install: SPICE, QXL and the cdroms out, a backup of the old XML kept.
lv_virsh dumpxml --inactive --domain "$LV_NAME" >"$LV_WORK/before.xml"
"$vfio" vm finish-install "$LV_NAME" --backup-dir "$backups" --connect "$LV_URI" >"$LV_WORK/finish.log" ||
  { cat "$LV_WORK/finish.log"; lv_fail "vm finish-install failed"; }
lv_expect_lines "finish-install" "$LV_WORK/finish.log" 'SPICE graphics' 'QXL video' 'cdrom sda' 'cdrom sdb'
lv_virsh dumpxml --inactive --domain "$LV_NAME" >"$LV_WORK/after.xml"
! grep -qE "<graphics|device='cdrom'|type='qxl'|spicevmc" "$LV_WORK/after.xml" ||
  { cat "$LV_WORK/after.xml"; lv_fail "install-mode pieces left in the domain"; }
grep -q "<model type='none'/>" "$LV_WORK/after.xml" || lv_fail "no <video><model type='none'/>"
grep -q "<shmem name='$shm'>" "$LV_WORK/after.xml" || lv_fail "finish-install lost the region"
backup=$(ls "$backups"/"$LV_NAME"-*.xml)
[ "$(echo "$backup" | wc -l)" -eq 1 ] || lv_fail "expected one backup, got: $backup"
cmp -s "$backup" "$LV_WORK/before.xml" || lv_fail "the backup differs from the domain's old XML"
# Again, through LIBVIRT_DEFAULT_URI this time (virsh's own default).
LIBVIRT_DEFAULT_URI=$LV_URI "$vfio" vm finish-install "$LV_NAME" --backup-dir "$backups" >"$LV_WORK/finish2.log"
grep -q "not in install mode: nothing to change" "$LV_WORK/finish2.log" || lv_fail "not idempotent"
[ "$(ls "$backups" | wc -l)" -eq 1 ] || lv_fail "a second backup was written"
lv_virsh dumpxml --inactive --domain "$LV_NAME" | cmp -s - "$LV_WORK/after.xml" || lv_fail "second run changed it"
"$vfio" doctor --no-rom --domain "$LV_NAME" --connect "$LV_URI" >"$LV_WORK/doctor2.txt" || true
lv_expect_lines "doctor after finish-install" "$LV_WORK/doctor2.txt" '^\[pass\] domain install-mode'

# QEMU takes the finished domain (paused: its firmware already ran above).
lv_virsh start --paused --domain "$LV_NAME" >/dev/null || lv_fail "the finished domain does not start"
lv_qemu_argv "$LV_NAME" >"$LV_WORK/argv2.txt"
! grep -qE 'qxl|^-spice$|ide-cd' "$LV_WORK/argv2.txt" || lv_fail "QEMU still has install-mode devices"
echo "PASS: defined, validated, started ($LV_VIRT, OVMF Secure Boot, TPM), region and QMP checked, install mode removed"
