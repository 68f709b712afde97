#!/usr/bin/env bash
# Proves a tarball from scripts/package.sh runs on a host without the Swift toolchain:
#   scripts/check-package.sh dist/samsa-<version>-linux-<arch>.tar.gz HOST:PORT
# HOST:PORT is a running broker (CI: its shared samsa broker) for `samsa console --once`.
#
# Checks, each on the extracted tarball:
#   1. ldd: only libc/libm/ld-linux (and friends), libstdc++/libgcc_s, ncursesw/tinfo and the
#      compression libraries; no libswift*/libFoundation*, no RPATH/RUNPATH into a toolchain.
#   2. `samsa --version` prints the tarball's version and a real commit (not dev/unknown).
#   3. `samsa console --once --output json` against HOST:PORT sees a broker.
#   4. The console finds its themes in <exe>/../share/samsa/themes (a theme under a name
#      that exists nowhere else, loaded from a working directory without themes/).
#   5. The packaged broker starts from the packaged config/server.properties (free port, temp
#      log.dirs), writes logs without terminal escape codes (journald), and stops cleanly
#      on SIGTERM (clean-shutdown marker written).
# Every program runs under `env -i PATH=/usr/bin:/bin HOME=<empty dir>`: no /opt/swift on PATH
# or LD_LIBRARY_PATH.
set -uo pipefail

TARBALL=${1:?usage: check-package.sh TARBALL HOST:PORT}
BOOTSTRAP=${2:?usage: check-package.sh TARBALL HOST:PORT}
TARBALL=$(readlink -f "$TARBALL")
WORKDIR=$(mktemp -d "${TMPDIR:-/tmp}/samsa-pkgcheck.XXXXXX")
BROKER_PID=""
cleanup() {
  if [ -n "$BROKER_PID" ] && kill -0 "$BROKER_PID" 2>/dev/null; then kill -KILL "$BROKER_PID"; fi
  rm -rf "$WORKDIR"
}
trap cleanup EXIT
FAIL=0
pass() { echo "ok   $*"; }
fail() { echo "FAIL $*"; FAIL=1; }

tar -xzf "$TARBALL" -C "$WORKDIR" || { echo "FAIL cannot extract $TARBALL"; exit 1; }
NAME=$(basename "$TARBALL" .tar.gz)
PKG=$WORKDIR/$NAME
BIN=$PKG/bin/samsa
[ -x "$BIN" ] || { echo "FAIL $NAME/bin/samsa missing"; exit 1; }
mkdir -p "$WORKDIR/home" "$WORKDIR/cwd"
# No toolchain, no inherited library path, no themes in HOME or the working directory.
clean() { (cd "$WORKDIR/cwd" && exec env -i PATH=/usr/bin:/bin HOME="$WORKDIR/home" "$@"); }

# 1. Shared libraries.
echo "--- ldd $NAME/bin/samsa"
LDD=$(ldd "$BIN" 2>&1); echo "$LDD"
ALLOWED='^(linux-vdso|linux-gate|ld-linux[-.a-z0-9_]*|libc|libm|libdl|libpthread|librt|libutil|libstdc\+\+|libgcc_s|libncursesw|libtinfo|libz|liblz4|libsnappy|libzstd)\.so'
BAD=$(echo "$LDD" | awk '{print $1}' | sed 's|.*/||' | grep -Ev "$ALLOWED" || true)
if [ -z "$BAD" ] && ! echo "$LDD" | grep -q "not found"; then pass "ldd: only system libraries"
else fail "ldd: unexpected or missing libraries: ${BAD:-(not found)}"; fi
# SwiftPM links with RUNPATH $ORIGIN (harmless: next to the binary); a debug build also has
# /opt/swift/usr/lib/swift/linux there, which would let it run "without the toolchain on
# LD_LIBRARY_PATH" on this machine only.
RPATHS=$(readelf -d "$BIN" | sed -n 's/.*R\(UN\)\{0,1\}PATH).*\[\(.*\)\]/\2/p' | tr ':' '\n' | grep -v '^$ORIGIN' || true)
if [ -n "$RPATHS" ]; then fail "binary has RPATH/RUNPATH entries outside \$ORIGIN: $RPATHS"
else pass "no RPATH/RUNPATH outside \$ORIGIN"; fi

# 2. Version.
VERSION=$(cat "$PKG/VERSION")
V=$(clean "$BIN" --version 2>&1); rc=$?
echo "samsa --version: $V"
if [ "$rc" -eq 0 ] && [[ $V == "$VERSION (commit "* ]] && [[ $V != *unknown* ]]; then pass "--version names version $VERSION and a commit"
else fail "--version printed '$V' (rc=$rc), expected '$VERSION (commit <git describe>)'"; fi

# 3 + 4. Console --once against the broker, with a theme only the package has.
THEME=pkgcheck-$$
cp "$PKG/share/samsa/themes/solarized.toml" "$PKG/share/samsa/themes/$THEME.toml"
OUT=$(clean timeout 60 "$BIN" console --once --output json --theme "$THEME" --bootstrap-server "$BOOTSTRAP" 2>"$WORKDIR/console.err"); rc=$?
# A real answer: a cluster id and at least one broker (the JSON of a cluster that could not
# be reached has neither).
SEEN=$(echo "$OUT" | python3 -c '
import json, sys
d = json.load(sys.stdin)
b = d.get("brokers") or []
assert d.get("clusterId") and b
print("cluster %s, %d broker(s), %d topic(s)" % (d["clusterId"], len(b), len(d.get("topics") or [])))' 2>/dev/null)
if [ "$rc" -eq 0 ] && [ -n "$SEEN" ]; then
  pass "console --once --output json against $BOOTSTRAP: $SEEN (theme $THEME found in share/samsa/themes)"
else
  fail "console --once against $BOOTSTRAP (rc=$rc): $(echo "$OUT" | head -5) $(head -5 "$WORKDIR/console.err")"
fi
rm -f "$PKG/share/samsa/themes/$THEME.toml"
OUT=$(clean timeout 60 "$BIN" console --once --theme "$THEME" --bootstrap-server "$BOOTSTRAP" 2>&1); rc=$?
if [ "$rc" -ne 0 ] && echo "$OUT" | grep -q "no such theme"; then
  pass "a theme missing from share/samsa/themes is refused (so the check above is real)"
else
  fail "console did not refuse theme $THEME that no search path has (rc=$rc): $(echo "$OUT" | head -3)"
fi

# 5. The packaged broker: start, serve, journald-friendly logs, SIGTERM.
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$WORKDIR/data"
# Not through clean(): a backgrounded function is a subshell of its own; here the subshell
# execs env, which execs samsa, so $! is the broker itself for the SIGTERM below.
(cd "$WORKDIR/cwd" && exec env -i PATH=/usr/bin:/bin HOME="$WORKDIR/home" "$BIN" broker --config "$PKG/config/server.properties" \
  --override "listeners=PLAINTEXT://127.0.0.1:$PORT" --override "advertised.listeners=PLAINTEXT://127.0.0.1:$PORT" \
  --override "log.dirs=$WORKDIR/data") >"$WORKDIR/broker.log" 2>&1 </dev/null &
BROKER_PID=$!
up=0
for _ in $(seq 1 300); do
  (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && { up=1; break; }
  kill -0 "$BROKER_PID" 2>/dev/null || break
  sleep 0.1
done
if [ "$up" = 1 ]; then
  OUT=$(clean timeout 60 "$BIN" console --once --output json --bootstrap-server "127.0.0.1:$PORT" 2>&1) \
    && pass "packaged broker (packaged config/server.properties) serves the packaged console" \
    || fail "console against the packaged broker: $(echo "$OUT" | head -5)"
  T0=$(date +%s%N)
  kill -TERM "$BROKER_PID"
  for _ in $(seq 1 300); do kill -0 "$BROKER_PID" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$BROKER_PID" 2>/dev/null; then fail "broker still running 30 s after SIGTERM"
  else
    wait "$BROKER_PID"; rc=$?
    MS=$(( ($(date +%s%N) - T0) / 1000000 ))
    if [ "$rc" -eq 0 ] && [ -f "$WORKDIR/data/.kafka_cleanshutdown" ]; then pass "SIGTERM: clean stop in ${MS} ms, exit 0, clean-shutdown marker"
    else fail "SIGTERM: exit $rc, marker $( [ -f "$WORKDIR/data/.kafka_cleanshutdown" ] && echo present || echo missing)"; fi
  fi
  BROKER_PID=""
else
  fail "packaged broker did not listen on $PORT"
fi
if grep -q $'\x1b' "$WORKDIR/broker.log"; then fail "broker log (not a TTY) contains escape codes"
else pass "broker log has no escape codes when not a TTY"; fi
if grep -Eq ' (info|notice|warning|error|critical) ' "$WORKDIR/broker.log"; then pass "broker log lines carry their level"
else fail "no level in the broker log"; fi
echo "--- packaged broker's log"; cat "$WORKDIR/broker.log"

# 6. The systemd unit parses (where systemd-analyze exists), its ExecStart pointed at this
#    extracted binary since /opt/samsa is not installed here.
if command -v systemd-analyze >/dev/null; then
  sed "s|/opt/samsa/bin/samsa|$BIN|" "$PKG/systemd/samsa-broker.service" > "$WORKDIR/samsa-broker.service"
  if OUT=$(cd "$WORKDIR" && systemd-analyze verify "$WORKDIR/samsa-broker.service" 2>&1); then pass "systemd-analyze verify samsa-broker.service"
  else fail "systemd-analyze verify: $OUT"; fi
else
  echo "skip systemd-analyze not installed: unit not verified"
fi

[ "$FAIL" -eq 0 ] && echo "check-package: PASS" || echo "check-package: FAIL"
exit "$FAIL"
