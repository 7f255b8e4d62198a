# Helpers shared by the command-line test scripts (source it after setting `bin`):
#   work            a fresh temp directory, removed at exit
#   check WHAT CMD  runs CMD: "ok" or "FAIL" with WHAT; failures are counted
#   exit_code CMD   prints CMD's exit code (output discarded)
#   run CMD         sets $rc, $out (stdout) and $err (stderr), also in $work/out, $work/err
#   wait_for COND   until the shell condition holds (bounded): observable progress, no sleeps
#   finish          the summary line; exits 1 if any check failed
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fails=0
rc=0
out=
err=

check() {  # check DESCRIPTION COMMAND...: the command must succeed
  local what=$1; shift
  if "$@"; then echo "ok   - $what"; else echo "FAIL - $what"; fails=$((fails + 1)); fi
}
exit_code() { set +e; "$@" >/dev/null 2>&1; local rc=$?; set -e; echo "$rc"; }
run() {
  set +e; "$@" >"$work/out" 2>"$work/err"; rc=$?; set -e
  out=$(cat "$work/out"); err=$(cat "$work/err")
}
wait_for() {
  local i
  for i in $(seq 1 600); do if eval "$1"; then return 0; fi; sleep 0.05; done
  echo "timed out waiting for: $1"; return 1
}
finish() {
  if [ "$fails" -ne 0 ]; then echo "$fails checks failed"; exit 1; fi
  echo "all checks passed"
}
