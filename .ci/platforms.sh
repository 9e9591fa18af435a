#!/usr/bin/env bash
# platforms.sh proves that the library builds and passes its tests beyond
# the host's own platform:
#
#   - go vet, with and without -tags purego, for every platform in TARGETS;
#   - the tests for linux/386 (native on an amd64 host);
#   - the tests for linux/arm64 under qemu-user, demanding the NEON kernel
#     (GOSOFTMAX_REQUIRE_KERNEL=neon makes TestRequiredKernel fail on a
#     silent fallback to the generic kernel);
#   - the tests for big-endian linux/s390x under qemu-user.
#
# The emulated legs run with -short, which only trims the largest accuracy
# sizes (2^20+3 and 2^24, minutes under emulation) and the tests that start
# child processes; every length 0..1100, the guard pages and the fuzz seeds
# still run, and the script checks that they did. It installs qemu-user
# with apt-get when it is missing (CI runs as root on Debian). It runs
# every leg, prints the time each took, and exits non-zero if any failed.
#
# Usage: bash .ci/platforms.sh   (from anywhere in the repository)
set -uo pipefail

cd "$(dirname "$0")/.."

TARGETS="linux/386 linux/arm linux/arm64 linux/riscv64 linux/ppc64le linux/s390x
linux/loong64 windows/amd64 darwin/amd64 darwin/arm64 js/wasm wasip1/wasm"

failed=()
summary=()
log_dir=$(mktemp -d)
trap 'rm -rf "$log_dir"' EXIT

# leg NAME COMMAND...: runs one leg, times it, records a failure.
leg() {
	local name=$1
	shift
	local start=$SECONDS
	echo "=== $name"
	if "$@"; then
		summary+=("$(printf 'ok    %4ds  %s' $((SECONDS - start)) "$name")")
	else
		summary+=("$(printf 'FAIL  %4ds  %s' $((SECONDS - start)) "$name")")
		failed+=("$name")
	fi
}

need_qemu() {
	if command -v qemu-aarch64 >/dev/null && command -v qemu-s390x >/dev/null; then
		return 0
	fi
	echo "qemu-user is missing: installing it with apt-get"
	local sudo=""
	if [ "$(id -u)" -ne 0 ]; then
		sudo="sudo"
	fi
	$sudo apt-get update -q &&
		DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends qemu-user
}

vet_all() {
	local ok=0 target goos goarch tags
	for target in $TARGETS; do
		goos=${target%/*}
		goarch=${target#*/}
		for tags in "" purego; do
			if ! GOOS=$goos GOARCH=$goarch CGO_ENABLED=0 go vet -tags "$tags" ./...; then
				echo "go vet failed for $target ${tags:+(-tags $tags)}"
				ok=1
			fi
		done
	done
	return $ok
}

# go_test GOARCH EXEC [ENV...] -- [TESTS THAT MUST HAVE PASSED...]: runs the
# package tests for linux/GOARCH, under EXEC unless it is "-" or the host
# is that GOARCH, and checks from the -v output that the named tests ran
# and passed rather than being skipped.
go_test() {
	local goarch=$1 exec=$2
	shift 2
	local envs=()
	while [ "$1" != "--" ]; do
		envs+=("$1")
		shift
	done
	shift
	local args=(-count=1 -v)
	if [ "$exec" != "-" ] && [ "$(go env GOHOSTARCH)" != "$goarch" ]; then
		args+=(-short -exec "$exec")
	fi
	local out="$log_dir/test-$goarch.log"
	env GOOS=linux GOARCH="$goarch" CGO_ENABLED=0 "${envs[@]}" \
		go test "${args[@]}" ./... >"$out" 2>&1
	local rc=$?
	grep -E '^(--- (FAIL|SKIP)|FAIL|ok|panic:|fatal error:)' "$out" | head -100
	if [ $rc -ne 0 ]; then
		echo "go test failed for linux/$goarch; the end of its output:"
		tail -40 "$out"
		return 1
	fi
	local name
	for name in "$@"; do
		if ! grep -q -- "^--- PASS: $name " "$out"; then
			echo "linux/$goarch: $name did not run and pass"
			return 1
		fi
	done
}

# The tests that prove the kernels (every length, special values, guard
# pages, the public contract, allocations); on arm64 also those that prove
# NEON was selected and the NEON fuzz seeds.
CORE_TESTS=(TestKernelSpecialValues TestGuardPages TestAccuracyEveryLength TestAccuracyLarge
	TestSpecialValues TestPyTorchCases TestZeroAllocations)
NEON_TESTS=(TestRequiredKernel TestNEONSelected TestKernelsMatchGeneric TestNEONExpULP
	TestNEONRandomInputs FuzzNEONKernels)

total_start=$SECONDS
leg "install qemu-user if missing" need_qemu
leg "go vet, with and without purego, for ${TARGETS//$'\n'/ }" vet_all
leg "go test linux/386" go_test 386 - -- "${CORE_TESTS[@]}"
leg "go test linux/arm64 under qemu-aarch64, kernel neon required" \
	go_test arm64 qemu-aarch64 GOSOFTMAX_REQUIRE_KERNEL=neon -- "${CORE_TESTS[@]}" "${NEON_TESTS[@]}"
leg "go test linux/s390x (big-endian) under qemu-s390x" \
	go_test s390x qemu-s390x -- "${CORE_TESTS[@]}"

echo
echo "platforms.sh: $((SECONDS - total_start))s in all"
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -ne 0 ]; then
	echo "platforms.sh: ${#failed[@]} leg(s) failed"
	exit 1
fi
