#!/usr/bin/env bash
# Builds the VM tests' guest: Debian's kernel (downloaded with apt and cached)
# and a busybox initramfs holding the static porthole-agent and the modules
# it needs. No network inside the guest, no disk image.
# usage: build-guest.sh OUTDIR AGENT [EXTRA_BINARY...]
set -euo pipefail
out=$1 agent=$2; shift 2
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out/cache"

# The kernel: the package linux-image-amd64 currently points at.
pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
[ -n "$pkg" ] || { echo "build-guest: apt-cache knows no linux-image-amd64 (run apt-get update)" >&2; exit 1; }
deb=$(ls "$out"/cache/"${pkg}"_*.deb 2>/dev/null | head -n1 || true)
if [ -z "$deb" ]; then
  echo "build-guest: downloading $pkg (about 70 MB, cached in $out/cache)"
  (cd "$out/cache" && apt-get download "$pkg" 2>&1 | grep -v '^W: Download is performed unsandboxed' || true)
  deb=$(ls "$out"/cache/"${pkg}"_*.deb | head -n1)
fi
kdir="$out/cache/${pkg}"
if [ ! -d "$kdir" ]; then
  rm -rf "$kdir.tmp" && mkdir -p "$kdir.tmp"
  dpkg-deb -x "$deb" "$kdir.tmp"
  mv "$kdir.tmp" "$kdir"
fi
cp "$kdir"/boot/vmlinuz-* "$out/vmlinuz"

root="$out/initramfs"
rm -rf "$root" && mkdir -p "$root"/{bin,sbin,proc,sys,dev,tmp,lib/modules}
cp /bin/busybox "$root/bin/busybox"
for app in sh mount insmod poweroff reboot sleep cat echo ls grep sed awk; do
  ln -s busybox "$root/bin/$app"
done
# virtio_input and what it needs, for QEMU's virtio tablet and mouse (QMP tests).
for m in drivers/input/evdev.ko drivers/input/misc/uinput.ko drivers/virtio/virtio.ko \
    drivers/virtio/virtio_ring.ko drivers/virtio/virtio_pci_legacy_dev.ko \
    drivers/virtio/virtio_pci_modern_dev.ko drivers/virtio/virtio_pci.ko \
    drivers/virtio/virtio_input.ko; do
  f=$(ls "$kdir"/lib/modules/*/kernel/$m 2>/dev/null | head -n1 || true)
  [ -n "$f" ] && cp "$f" "$root/lib/modules/"
done
install -m 755 "$agent" "$root/bin/porthole-agent"
for extra in "$@"; do install -m 755 "$extra" "$root/bin/$(basename "$extra")"; done
install -m 755 "$here/guest/init" "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) > "$out/initrd.gz.tmp"
mv "$out/initrd.gz.tmp" "$out/initrd.gz"
echo "build-guest: $out/vmlinuz, $out/initrd.gz ($(du -k "$out/initrd.gz" | cut -f1) KiB)"
