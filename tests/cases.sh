# Sourced by the shell tests: ok/bad record one case each; finish prints
# the summary line tests/check-all.sh counts and sets the exit status.
passed=0
failed=0
ok() { echo "  Test: $1 ...passed"; passed=$((passed + 1)); }
bad() { echo "  Test: $1 ...FAILED: $2"; failed=$((failed + 1)); }
finish() {
	echo
	echo "gpupipe-test $1: $passed passed, $failed failed"
	[ "$failed" = 0 ]
}
