#!/usr/bin/env bash
# The formula engine's speed, as ratios measured in one run (docs/formula.md, docs/benchmarks.md):
#   compiled / hand-written loop   target ≤ 3×   (the engine's overhead over the speed limit)
#   govaluate / compiled           target ≥ 50×  (the per-pixel interpreter the engine replaces)
#   WebAssembly / native compiled  target ≤ 3×   (the browser against the server)
# on (b-a)/(b+a) and (a*2-b)/(a+b+1)>0.2&c!=0 (5% nodata) over 256×256 Float32 tiles.
# Each figure is the smallest ns/px of BENCH_COUNT runs (default 5): the run least disturbed by
# other work on the machine. Prints MISS for a ratio off its target; exits 0 either way
# (figures on a shared machine vary), 1 if a benchmark fails or a figure is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
count=${BENCH_COUNT:-5}
out=${BENCH_OUT:-bin/bench}
mkdir -p "$out"
WASM_PATH="$(go env GOROOT)/lib/wasm"

# WebAssembly runs under node with --no-liftoff: V8 compiles the module with its optimizing
# compiler from the start, which is the steady state a page rendering tiles reaches after its
# first few; without it the first benchmark of a run is measured partly on baseline code and
# varies tenfold on a busy machine.
#
# Build the three test binaries once, then run them in turns, so that the figures a ratio
# divides are measured at nearly the same time on a machine whose load changes.
bindir="$out/formula-bin"
mkdir -p "$bindir"
go test -c -o "$bindir/formula.test" ./shared/formula
go test -c -o "$bindir/formulabench.test" ./backend/internal/formulabench
GOOS=js GOARCH=wasm go test -c -o "$bindir/formula.wasm.test" ./shared/formula
: > "$out/formula-native.txt"; : > "$out/formula-govaluate.txt"; : > "$out/formula-wasm.txt"
for ((k = 1; k <= count; k++)); do
  echo "== formula benchmarks, round $k of $count =="
  "$bindir/formula.test" -test.run '^$' -test.bench '^Benchmark(Compiled|HandLoop)$/^(ndvi|six)$' -test.benchmem | tee -a "$out/formula-native.txt" | grep '^Benchmark'
  "$bindir/formulabench.test" -test.run '^$' -test.bench '^BenchmarkGovaluate$' -test.benchmem | tee -a "$out/formula-govaluate.txt" | grep '^Benchmark'
  node --stack-size=8192 --no-liftoff "$WASM_PATH/wasm_exec_node.js" "$bindir/formula.wasm.test" -test.run '^$' -test.bench '^BenchmarkCompiled$/^(ndvi|six)$' -test.benchmem | tee -a "$out/formula-wasm.txt" | sed 's/^Benchmark/wasm Benchmark/' | grep 'Benchmark'
done

# smallest ns/px per benchmark name (without the -N GOMAXPROCS suffix), prefixed by target.
best() {
  awk -v tag="$1" '/^Benchmark/ { name=$1; sub(/-[0-9]+$/, "", name); for (i = 3; i <= NF; i++) if ($i == "ns/px" && (!(name in v) || $(i-1) + 0 < v[name])) v[name] = $(i-1) + 0 }
    END { for (n in v) print tag, n, v[n] }' "$2"
}
{
  best native "$out/formula-native.txt"
  best native "$out/formula-govaluate.txt"
  best wasm "$out/formula-wasm.txt"
} > "$out/formula-best.txt"

echo
echo "== formula ratios (smallest ns/px of $count runs) =="
awk '{ m[$1 " " $2] = $3 }
  function ratio(label, num, den, target, below) {
    if (!(num in m) || !(den in m)) { printf "%-42s missing %s or %s\n", label, num, den; bad = 1; return }
    r = m[num] / m[den]; ok = below ? r <= target : r >= target
    printf "%-42s %8.2f×  (%7.2f / %7.2f ns/px)  target %s %g×  %s\n", label, r, m[num], m[den], below ? "≤" : "≥", target, ok ? "ok" : "MISS"
  }
  END {
    split("ndvi six", cs, " ")
    for (i = 1; i <= 2; i++) {
      c = cs[i]
      ratio("compiled/handloop " c, "native BenchmarkCompiled/" c, "native BenchmarkHandLoop/" c, 3, 1)
      ratio("govaluate/compiled " c, "native BenchmarkGovaluate/" c, "native BenchmarkCompiled/" c, 50, 0)
      ratio("wasm/native compiled " c, "wasm BenchmarkCompiled/" c, "native BenchmarkCompiled/" c, 3, 1)
    }
    exit bad
  }' "$out/formula-best.txt"
