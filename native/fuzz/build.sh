#!/usr/bin/env bash
# Builds the libFuzzer harnesses of native/fuzz/ (one executable per *_fuzz.cc) with clang++,
# AddressSanitizer and UndefinedBehaviorSanitizer, from the parser sources of native/src compiled
# without Node (core.cc and what each harness needs; no napi.h, no OpenMP: one thread, so a crash
# reproduces exactly). Output: native/build/fuzz/<target> (node-gyp's build folder, ignored by git).
#
#   native/fuzz/build.sh [target...]     e.g. native/fuzz/build.sh csv columns
#
# Exits 77 when clang++ or libFuzzer is missing (Debian: apt-get install clang libclang-rt-NN-dev,
# NN = clang's major version); scripts/fuzz.mjs reports that as skipped.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
src="$here/../src"
out="$here/../build/fuzz"
CXX="${CXX_FUZZ:-clang++}"

if ! command -v "$CXX" >/dev/null 2>&1; then
  echo "fuzz: $CXX not found (Debian: apt-get install clang libclang-rt-NN-dev)" >&2
  exit 77
fi
mkdir -p "$out"
probe="$out/.probe"
printf 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }\n' > "$probe.cc"
if ! "$CXX" -fsanitize=fuzzer,address,undefined "$probe.cc" -o "$probe" >/dev/null 2>&1; then
  major="$("$CXX" -dumpversion | cut -d. -f1)"
  echo "fuzz: $CXX cannot link -fsanitize=fuzzer (Debian: apt-get install libclang-rt-$major-dev)" >&2
  rm -f "$probe" "$probe.cc"
  exit 77
fi
rm -f "$probe" "$probe.cc"

# Sources each harness needs besides itself.
declare -A deps=(
  [csv]="core.cc"
  [columns]="core.cc columns.cc"
)
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for f in "$here"/*_fuzz.cc; do t="$(basename "$f" _fuzz.cc)"; targets+=("$t"); done
fi
flags=(-std=gnu++17 -g -O1 -fno-omit-frame-pointer
  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
  -Wno-unknown-pragmas -I "$src")
for t in "${targets[@]}"; do
  [ -f "$here/${t}_fuzz.cc" ] || { echo "fuzz: no harness native/fuzz/${t}_fuzz.cc" >&2; exit 2; }
  srcs=("$here/${t}_fuzz.cc")
  for d in ${deps[$t]:-core.cc}; do srcs+=("$src/$d"); done
  echo "fuzz: building $t"
  "$CXX" "${flags[@]}" "${srcs[@]}" -o "$out/$t"
done
