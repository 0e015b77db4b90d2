#!/bin/sh
# porthole-agent-setup-VERSION.exe under Wine, as an administrator would run
# it with /S: the agent lands in Program Files with an uninstaller, the
# service PortholeAgent is registered (automatic start, the installed
# program's "service" command line), services may send Ctrl+Alt+Del, the
# IVSHMEM driver's absence and presence are both noticed, a second run
# upgrades in place, and the silent uninstaller removes files, service and
# registry entries.
# Usage: installer_wine_test.sh WINE_RUN INSTALLER
set -u
wine_run=$1
installer=$2
prefix=$(sed -n "s/^export WINEPREFIX='\(.*\)'$/\1/p" "$wine_run")
[ -n "$prefix" ] || { echo "FAIL: no WINEPREFIX in $wine_run"; exit 1; }
dir="$prefix/drive_c/Program Files/Porthole"
svc='HKLM\System\CurrentControlSet\Services\PortholeAgent'
ivshmem='HKLM\System\CurrentControlSet\Services\IVSHMEM'
ours='HKLM\Software\Porthole'
policy='HKLM\Software\Microsoft\Windows\CurrentVersion\Policies\System'
uninst='HKLM\Software\Microsoft\Windows\CurrentVersion\Uninstall\PortholeAgent'

fail() {
  echo "FAIL: $*"
  echo "--- service log"; cat "$dir/porthole-agent-service.log" 2>/dev/null | tail -20
  exit 1
}
# reg query KEY VALUE: the value's data, "" when absent (Wine's reg prints CRLF).
reg_value() {
  "$wine_run" reg query "$1" /v "$2" 2>/dev/null | tr -d '\r' |
    awk -v v="$2" '$1 == v { $1 = ""; $2 = ""; sub(/^  */, ""); print }'
}
reg_has_key() { "$wine_run" reg query "$1" >/dev/null 2>&1; }
uninstall() {
  [ -f "$dir/uninstall.exe" ] || return 0
  # The uninstaller copies itself to %TEMP% and returns at once: wait for its work.
  "$wine_run" "$dir/uninstall.exe" /S
  for _ in $(seq 300); do [ -e "$dir" ] || break; sleep 0.1; done
  for _ in $(seq 100); do reg_has_key "$uninst" || break; sleep 0.1; done
}
cleanup() {
  uninstall >/dev/null 2>&1
  "$wine_run" reg delete "$ivshmem" /f >/dev/null 2>&1
}
trap cleanup EXIT
cleanup
"$wine_run" reg delete "$policy" /v SoftwareSASGeneration /f >/dev/null 2>&1

# ---- silent install, no IVSHMEM driver ------------------------------------
"$wine_run" "$installer" /S || fail "the installer exited $?"
[ -f "$dir/porthole-agent.exe" ] || fail "no $dir/porthole-agent.exe"
[ -f "$dir/uninstall.exe" ] || fail "no uninstaller"
start=$(reg_value "$svc" Start)
[ "$start" = "0x2" ] || fail "service start type '$start', want 0x2 (automatic)"
image=$(reg_value "$svc" ImagePath)
case "$image" in
  *'C:\Program Files\Porthole\porthole-agent.exe'*' service'*) ;;
  *) fail "service command line '$image'" ;;
esac
[ "$(reg_value "$policy" SoftwareSASGeneration)" = "0x1" ] || fail "SoftwareSASGeneration is not 1"
[ "$(reg_value "$ours" IvshmemDriverFound)" = "0x0" ] || fail "a missing IVSHMEM driver was not noticed"
[ -n "$(reg_value "$uninst" UninstallString)" ] || fail "no Add/Remove Programs entry"
# The service really runs the installed agent (which finds no IVSHMEM device here).
for _ in $(seq 300); do
  grep -q 'agent started in session' "$dir/porthole-agent-service.log" 2>/dev/null && break
  sleep 0.1
done
grep -q 'agent started in session' "$dir/porthole-agent-service.log" 2>/dev/null ||
  fail "the service did not start the installed agent"
echo "ok: installed; service automatic, '$image'; SAS policy 1; no IVSHMEM driver noticed"

# ---- a second run upgrades in place, and sees a driver now ----------------
"$wine_run" reg add "$ivshmem" /v ImagePath /t REG_EXPAND_SZ \
  /d 'System32\drivers\ivshmem.sys' /f >/dev/null || fail "cannot fake the driver's key"
"$wine_run" "$installer" /S || fail "the second install exited $?"
[ "$(reg_value "$ours" IvshmemDriverFound)" = "0x1" ] || fail "the IVSHMEM driver was not found"
[ "$(reg_value "$svc" Start)" = "0x2" ] || fail "the service is gone after the upgrade"
"$wine_run" reg delete "$ivshmem" /f >/dev/null 2>&1
echo "ok: reinstalled over itself; the IVSHMEM driver found"

# ---- silent uninstall -----------------------------------------------------
uninstall
[ -e "$dir" ] && fail "left in Program Files: $(ls "$dir")"
reg_has_key "$svc" && fail "the service is still registered"
reg_has_key "$uninst" && fail "the Add/Remove Programs entry is still there"
reg_has_key "$ours" && fail "HKLM\\Software\\Porthole is still there"
[ -z "$(reg_value "$policy" SoftwareSASGeneration)" ] || fail "the SAS policy the installer added is still set"
trap - EXIT
echo "ok: uninstalled: files, service, registry entries gone"
echo PASS
