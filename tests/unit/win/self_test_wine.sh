#!/bin/sh
# porthole-agent --self-test --json under Wine: valid JSON with every check,
# the missing IVSHMEM device failing with its fix, SendInput passing, the
# service reported as not installed, and a non-zero exit code.
# Usage: self_test_wine.sh WINE_RUN AGENT_EXE
set -u
out=$("$1" "$2" --self-test --json 2>/dev/null)
rc=$?
[ "$rc" -eq 1 ] || { echo "FAIL: exit code $rc, expected 1 (checks failed)"; echo "$out"; exit 1; }
version=$("$1" "$2" --version 2>/dev/null | head -n 1 | tr -d '\r')
printf '%s' "$out" | python3 -c '
import json, sys
j = json.load(sys.stdin)
names = [c["name"] for c in j["checks"]]
want = ["ivshmem", "outputs", "dxgi_frame", "cursor_shape", "wasapi_loopback", "sendinput",
        "ctrl_alt_del", "service"]
assert names == want, names
assert j["passed"] is False
c = {x["name"]: x for x in j["checks"]}
assert all(x["outcome"] in ("pass", "fail", "skip") for x in j["checks"])
assert c["ivshmem"]["outcome"] == "fail" and "virtio-win IVSHMEM driver" in c["ivshmem"]["summary"], c["ivshmem"]
assert c["sendinput"]["outcome"] == "pass" and "Default" in c["sendinput"]["summary"], c["sendinput"]
assert c["service"]["outcome"] == "fail" and "porthole-agent install" in c["service"]["summary"], c["service"]
assert "SoftwareSASGeneration" in c["ctrl_alt_del"]["summary"], c["ctrl_alt_del"]
# Either a format read back from the loopback or the failure of the source, never a placeholder.
w = c["wasapi_loopback"]
assert (w["outcome"] == "pass" and " Hz, " in w["summary"] and "peak" in w["summary"]) or \
    (w["outcome"] == "fail" and "wasapi source" in w["summary"]), w
assert j["agent"] == sys.argv[1], (j["agent"], sys.argv[1])
' "$version" || { echo "FAIL: unexpected report"; echo "$out"; exit 1; }
"$1" "$2" --self-test 2>/dev/null | grep -q '^\[FAIL\] ivshmem: no IVSHMEM device' || { echo "FAIL: plain-words report"; exit 1; }
echo PASS
