#!/usr/bin/env bash
# The Debian packages as a user gets them: built with CPack from a release
# build, checked by lintian, installed with apt-get on this machine, used from
# their installed paths (the demo headless with every frame verified, doctor,
# hooks and the region rule on a fixture root, man pages, completions), then
# purged; nothing of theirs may be left behind. Needs root (it installs).
# usage: tests/packaging/deb_test.sh BUILD_DIR (a configured and built release tree)
set -uo pipefail
build=$(cd "$1" && pwd)
src=$(cd "$(dirname "$0")/../.." && pwd)
packages=(porthole porthole-vfio porthole-agent)
work=$(mktemp -d /tmp/porthole-deb-test.XXXXXX)
agent_pid=""
installed=0
cleanup() {
  [ -n "$agent_pid" ] && kill "$agent_pid" 2>/dev/null
  # A failed run leaves the machine as it found it.
  [ $installed -eq 1 ] && DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq "${packages[@]}" >/dev/null 2>&1
  rm -f "/dev/shm/porthole-deb-test-$$" "/dev/shm/porthole-deb-test-$$-doorbell"
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
pass() { echo "ok: $*"; }

[ "$(id -u)" -eq 0 ] || fail "run as root: the test installs and removes packages"
for p in "${packages[@]}"; do
  if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'installed'; then
    fail "$p is installed already: this test would remove it; purge it first"
  fi
done

# ---- build --------------------------------------------------------------------
out=$build/packages
rm -rf "$out"
(cd "$build" && cpack -G DEB -B "$out" >"$work/cpack.log" 2>&1) || { cat "$work/cpack.log"; fail "cpack"; }
debs=("$out"/*.deb)
[ ${#debs[@]} -eq 3 ] || fail "want 3 packages, cpack made: ${debs[*]}"
version=$(sed -nE 's/^project\(porthole VERSION ([0-9.]+).*/\1/p' "$src/CMakeLists.txt")
for p in "${packages[@]}"; do
  f="$out/${p}_${version}_amd64.deb"
  [ -f "$f" ] || fail "no $f"
  [ "$(dpkg-deb -f "$f" Version)" = "$version" ] || fail "$f: version $(dpkg-deb -f "$f" Version)"
done
# dpkg-shlibdeps filled in the libraries each program links.
dpkg-deb -f "$out/porthole_${version}_amd64.deb" Depends | grep -q 'libsdl2' || fail "porthole's Depends lack libsdl2"
dpkg-deb -f "$out/porthole_${version}_amd64.deb" Depends | grep -q 'libvulkan1' || fail "porthole's Depends lack libvulkan1"
dpkg-deb -f "$out/porthole-vfio_${version}_amd64.deb" Depends | grep -q 'libc6' || fail "porthole-vfio's Depends lack libc6"
dpkg-deb -f "$out/porthole-vfio_${version}_amd64.deb" Depends | grep -qi 'sdl\|vulkan\|pipewire' \
  && fail "porthole-vfio must not depend on display or audio libraries"
pass "cpack made ${debs[*]##*/}"

# ---- lintian ------------------------------------------------------------------
lintian --tag-display-limit 0 --display-info --show-overrides "${debs[@]}" >"$work/lintian.log" 2>&1
if grep -E '^(E|W): ' "$work/lintian.log"; then fail "lintian reports errors or warnings"; fi
pass "lintian: no errors or warnings; overridden, each with its reason: $(grep -c '^O: ' "$work/lintian.log")"

# ---- install ------------------------------------------------------------------
# What exists before, to find anything the packages leave behind.
snapshot() { find /usr /etc /var/lib/dpkg/info /opt -xdev 2>/dev/null | grep -v '^/var/lib/dpkg/info/.*\.list$' | sort; }
snapshot >"$work/before"
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${debs[@]}" \
  >"$work/apt-install.log" 2>&1 || { cat "$work/apt-install.log"; fail "apt-get install"; }
installed=1
for p in "${packages[@]}"; do dpkg -L "$p" >>"$work/files"; done
pass "apt-get install ./*.deb"

for p in porthole porthole-agent porthole-vfio; do
  [ "$(command -v $p)" = "/usr/bin/$p" ] || fail "$p is not /usr/bin/$p but '$(command -v $p)'"
  v=$("/usr/bin/$p" --version) || fail "$p --version"
  [[ "$v" == "$p $version"* ]] || fail "$p --version says '$v'"
done
pass "installed programs report $version"

MANPAGER=cat MANWIDTH=80 man porthole 2>/dev/null | grep -qE 'porthole +- +show a VFIO' || fail "man porthole"
MANPAGER=cat MANWIDTH=80 man 8 porthole-vfio 2>/dev/null | grep -q 'region' || fail "man 8 porthole-vfio"
MANPAGER=cat MANWIDTH=80 man porthole-agent 2>/dev/null | grep -q 'OPTIONS' || fail "man porthole-agent"
pass "man porthole, man 8 porthole-vfio, man porthole-agent"

# The doorbell's server: installed with porthole, documented, and serving a
# region on a socket it removes when stopped.
[ "$(command -v porthole-ivshmem-server)" = /usr/bin/porthole-ivshmem-server ] \
  || fail "porthole-ivshmem-server is not /usr/bin/porthole-ivshmem-server"
MANPAGER=cat MANWIDTH=80 man porthole-ivshmem-server 2>/dev/null | grep -q 'ivshmem-doorbell' \
  || fail "man porthole-ivshmem-server"
db_shm=/dev/shm/porthole-deb-test-$$-doorbell
/usr/bin/porthole-ivshmem-server --socket "$work/ivshmem.sock" --shm "$db_shm" --size 1 \
  >"$work/ivshmem-server.log" 2>&1 &
db_pid=$!
for _ in $(seq 50); do [ -S "$work/ivshmem.sock" ] && break; sleep 0.1; done
[ -S "$work/ivshmem.sock" ] || { cat "$work/ivshmem-server.log"; fail "the doorbell server did not listen"; }
kill "$db_pid"; wait "$db_pid"; rc=$?
rm -f "$db_shm"
[ $rc -eq 0 ] || { cat "$work/ivshmem-server.log"; fail "the doorbell server exited $rc on SIGTERM"; }
[ ! -e "$work/ivshmem.sock" ] || fail "the doorbell server left its socket behind"
pass "porthole-ivshmem-server: man page, serves, stops cleanly on SIGTERM"

got=$(bash -c 'source /usr/share/bash-completion/completions/porthole-vfio
  COMP_WORDS=(porthole-vfio region --); COMP_CWORD=2; _porthole_vfio; echo "${COMPREPLY[*]}"')
[[ " $got " == *" --user "* ]] || fail "bash completion of 'porthole-vfio region --': '$got'"
[ -f /usr/share/zsh/vendor-completions/_porthole ] || fail "no zsh completion"
[ -f /usr/share/fish/vendor_completions.d/porthole.fish ] || fail "no fish completion"
desktop-file-validate /usr/share/applications/porthole.desktop || fail "desktop entry"
[ -f /usr/share/icons/hicolor/scalable/apps/porthole.svg ] || fail "no icon"
pass "completions, desktop entry and icon in place"

# The IVSHMEM server's unit, shipped disabled, names a program the packages install.
unit=/usr/lib/systemd/system/porthole-ivshmem-server.service
[ -f "$unit" ] || fail "no $unit"
systemd-analyze verify --man=no "$unit" >"$work/unit-verify.log" 2>&1 \
  || { cat "$work/unit-verify.log"; fail "systemd-analyze verify $unit"; }
[ -e /etc/systemd/system/multi-user.target.wants/porthole-ivshmem-server.service ] \
  && fail "porthole-ivshmem-server is enabled by the install: it must wait for the user"
pass "porthole-ivshmem-server.service in place, verified by systemd-analyze, not enabled"

# The demo from the installed programs: the agent's test pattern, shown headless,
# every frame compared pixel by pixel (lavapipe), a screenshot at the end.
shm=/dev/shm/porthole-deb-test-$$
cd "$work"
/usr/bin/porthole-agent --shm "$shm" --shm-size 32 --width 640 --height 480 --fps-limit 60 \
  >"$work/agent.log" 2>&1 &
agent_pid=$!
/usr/bin/porthole --shm "$shm" --headless --verify-pattern --exit-after-frames 30 --timeout 60 \
  --screenshot "$work/shot.png" >"$work/client.log" 2>&1
rc=$?
kill "$agent_pid" 2>/dev/null; wait "$agent_pid" 2>/dev/null; agent_pid=""
rm -f "$shm"
[ $rc -eq 0 ] || { tail -20 "$work/client.log" "$work/agent.log"; fail "the installed client exited $rc"; }
[ -s "$work/shot.png" ] || fail "no screenshot"
pass "demo: installed agent and client, 30 frames verified, screenshot written"

# porthole-vfio from /usr/bin on a fixture machine: doctor, hooks, region.
cp -r "$src/tests/fixtures/vfio/intel-desktop" "$work/machine"
roots=(--sysfs-root "$work/machine/sys" --proc-root "$work/machine/proc" --root "$work/machine/root")
/usr/bin/porthole-vfio "${roots[@]}" doctor >"$work/doctor.log" 2>&1
rc=$?
{ [ $rc -le 1 ] && grep -q 'checks: ' "$work/doctor.log"; } || { cat "$work/doctor.log"; fail "doctor exited $rc"; }
grep -q 'region-access' "$work/doctor.log" || fail "doctor has no region-access check"
/usr/bin/porthole-vfio "${roots[@]}" libvirt hooks --vm win11 --bdf 01:00.0 >"$work/hooks.log" 2>&1 \
  || { cat "$work/hooks.log"; fail "libvirt hooks"; }
grep -rq '/usr/bin/porthole-vfio bind 0000:01:00.0' "$work/machine/root/etc/libvirt/hooks" \
  || fail "the hooks do not call the installed /usr/bin/porthole-vfio"
grep -q 'inside a build tree' "$work/hooks.log" && fail "the installed program thinks it is in a build tree"
printf 'alice:x:1000:1000::/home/alice:/bin/sh\n' >"$work/machine/root/etc/passwd"
printf 'kvm:x:108:\nlibvirt-qemu:x:64055:\nalice:x:1000:\n' >"$work/machine/root/etc/group"
/usr/bin/porthole-vfio "${roots[@]}" region --user alice >"$work/region.log" 2>&1 \
  || { cat "$work/region.log"; fail "region"; }
grep -qx 'f /dev/shm/porthole 0660 alice libvirt-qemu -' "$work/machine/root/etc/tmpfiles.d/porthole.conf" \
  || fail "region rule: $(cat "$work/machine/root/etc/tmpfiles.d/porthole.conf")"
pass "porthole-vfio doctor, libvirt hooks (calling /usr/bin/porthole-vfio) and region on a fixture root"
cd /

# ---- purge --------------------------------------------------------------------
DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq "${packages[@]}" >"$work/apt-purge.log" 2>&1 \
  || { cat "$work/apt-purge.log"; fail "apt-get purge"; }
installed=0
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'installed' && fail "$p still installed"
done
left=0
while read -r f; do
  [ -e "$f" ] && [ ! -d "$f" ] && { echo "left behind: $f"; left=1; }
done <"$work/files"
snapshot >"$work/after"
# New paths since before the install: ours fail the test; others (another
# program installing meanwhile) are only listed.
diff "$work/before" "$work/after" | sed -n 's/^> //p' >"$work/new"
if grep -i porthole "$work/new"; then left=1; fi
if [ -s "$work/new" ]; then echo "new since the install, not ours:"; head -5 "$work/new"; fi
[ $left -eq 0 ] || fail "the packages left files behind"
pass "apt-get purge: nothing left behind"
echo PASS
