#!/usr/bin/env bash
# Measures `jwtsweep crack` against its floor and against hashcat's mode
# 16500 on the CPU, on the same tokens and the same wordlist, and prints a
# table of candidate x token pairs per second, per core.
#
# Usage: scripts/bench-crack.sh [TOKENS]      (default: 200 HS256 tokens)
#
# The tokens are the generator's HS256 tokens (`jwtsweep generate`, seed 7)
# plus three re-signed with weak secrets from the embedded list (lines 31,
# 50000 and 103979), which every tool must crack. The wordlist is
# fixtures/secrets/jwt.secrets.list. Needs python3; uses hashcat if it is
# installed (Debian: apt-get install hashcat pocl-opencl-icd) and the
# criterion bench `crack` if it is registered in Cargo.toml.
#
# Other work on the machine skews every figure: the load average is
# printed before and after.
set -euo pipefail
cd "$(dirname "$0")/.."

tokens=${1:-200}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
list=fixtures/secrets/jwt.secrets.list
bin="${CARGO_TARGET_DIR:-target}/release/jwtsweep"

echo "== machine"
echo "cpus: $(nproc); $(lscpu | grep 'Model name' | sed 's/  */ /g')"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
cargo build --release --quiet

# tokens: the generator's, plus three planted
"$bin" generate --out "$work/gen" --algs HS256 --mix valid=100 --seed 7 \
    --distinct "$tokens" --lines $((tokens * 2)) 2>/dev/null
python3 - "$work" "$list" <<'EOF'
import base64, hashlib, hmac, re, sys
work, wordlist = sys.argv[1], sys.argv[2]
text = open(f"{work}/gen/access.log").read()
seen = dict.fromkeys(re.findall(r"eyJ[\w-]+\.[\w-]+\.[\w-]+", text))
lines = open(wordlist, "rb").read().split(b"\n")
out = list(seen)
for n, at in enumerate([31, 50000, 103979]):
    b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
    secret = lines[at - 1].rstrip(b"\r")
    claims = b64(b'{"iss":"https://issuer.example","sub":"planted-%d"}' % n)
    signing_input = out[n].split(".")[0] + "." + claims
    tag = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    out.append(signing_input + "." + b64(tag))
open(f"{work}/tokens.txt", "w").write("\n".join(out) + "\n")
print(f"tokens: {len(out)} distinct HS256 ({len(out) - 3} strong, 3 planted); "
      f"signing inputs {min(len(t.rsplit('.', 1)[0]) for t in out)}"
      f"-{max(len(t.rsplit('.', 1)[0]) for t in out)} bytes")
EOF

rows=()
row() { rows+=("$(printf '%-36s %7s %12s %8s %8s %12s %12s %12s' "$@")"); }

# timed CMD...: runs CMD with its CPU seconds (user + system) left in
# $work/cpu, or "-" without GNU time.
timed() {
    local status=0
    if [ -x /usr/bin/time ]; then
        /usr/bin/time -f '%U %S' -o "$work/time" "$@" || status=$?
        # the last line: GNU time puts a note about the exit status first
        tail -n 1 "$work/time" | awk '{printf "%.2f", $1 + $2}' > "$work/cpu"
    else
        echo - > "$work/cpu"
        "$@" || status=$?
    fi
    return "$status"
}

# per_cpu PAIRS: pairs per CPU second of the last timed command
per_cpu() {
    python3 -c '
import sys
pairs, cpu = sys.argv[1], sys.argv[2]
print(round(int(pairs) / float(cpu)) if cpu not in ("-", "0.00") else "-")' "$1" "$(cat "$work/cpu")"
}

# jwtsweep crack: one thread and all, each engine
for engine in auto portable; do
    for threads in 1 "$(nproc)"; do
        timed "$bin" crack --tokens-from "$work/tokens.txt" --format json -j "$threads" \
            --engine "$engine" > "$work/crack.json" || [ $? -eq 1 ]
        read -r pairs secs rate cracked used < <(python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
print(r["hmacs"], round(r["duration_secs"], 3), round(r["candidates_per_second"]),
      len(r["cracked"]), r["engine"].replace(" ", "_"))' "$work/crack.json")
        [ "$cracked" = 3 ] || { echo "jwtsweep cracked $cracked tokens, not 3" >&2; exit 1; }
        row "jwtsweep crack ($used)" "$threads" "$pairs" "$secs" "$(cat "$work/cpu")" "$rate" \
            $((rate / threads)) "$(per_cpu "$pairs")"
    done
done

# the floor: criterion bench on the same tokens, if registered
if cargo bench --bench crack --no-run --quiet 2>/dev/null; then
    JWTSWEEP_BENCH_TOKENS="$work/tokens.txt" cargo bench --quiet --bench crack -- \
        --noplot 2>/dev/null | tee "$work/bench.txt" | grep -E '^crack/|thrpt' || true
    python3 - "$work/bench.txt" <<'EOF' > "$work/floor.txt" || true
import re, sys
name = None
scale = {"Kelem/s": 1e3, "Melem/s": 1e6, "Gelem/s": 1e9, "elem/s": 1}
for line in open(sys.argv[1]):
    m = re.match(r"^crack/(\S+)", line)
    if m:
        name = m.group(1)
    m = re.search(r"thrpt:\s*\[\S+ \S+ (\S+) (\S+)", line)
    if m and name:
        print(name, round(float(m.group(1)) * scale[m.group(2)]))
EOF
    while read -r name rate; do
        row "bench: $name" 1 "-" "-" "-" "$rate" "$rate" "-"
    done < "$work/floor.txt"
else
    echo "(criterion bench 'crack' not registered: floor not measured)"
fi

# hashcat on the CPU, if installed
if command -v hashcat > /dev/null; then
    hashcat -b -m 16500 -D 1 --force --quiet > "$work/hc-bench.txt" 2>&1 || true
    speed=$(grep -m1 'Speed.#1' "$work/hc-bench.txt" | awk '{print $2, $3}')
    rate=$(python3 -c '
import sys
v, u = sys.argv[1], sys.argv[2]
print(round(float(v) * {"H/s": 1, "kH/s": 1e3, "MH/s": 1e6, "GH/s": 1e9}[u]))' $speed)
    row "hashcat -b -m 16500 (built-in token)" "$(nproc)" "-" "-" "-" "$rate" \
        $((rate / $(nproc))) "-"
    for opt in "" "-O"; do
        start=$(date +%s.%N)
        timed hashcat -a 0 -m 16500 --force -D 1 --potfile-disable $opt \
            -o "$work/hc-cracked.txt" "$work/tokens.txt" "$list" > "$work/hc.txt" 2>&1 || true
        end=$(date +%s.%N)
        if ! grep -q 'Status...........: \(Exhausted\|Cracked\)' "$work/hc.txt"; then
            echo "hashcat $opt did not finish:" >&2
            grep -iE 'error|exception|not supported|skipping' "$work/hc.txt" | head -5 >&2 || true
            continue
        fi
        read -r pairs secs <<< "$(python3 -c '
import re, sys
t = open(sys.argv[1]).read()
done = re.search(r"Progress\.+: (\d+)/", t).group(1)
took = re.search(r"Time\.Started\.+: [^(]*\(([^)]*)\)", t)
took = took.group(1) if took else ""
unit = {"hour": 3600, "min": 60, "sec": 1}
secs = sum(int(n) * unit[u] for n, u in re.findall(r"(\d+) (hour|min|sec)", took))
print(done, secs or "")' "$work/hc.txt")"
        [ -n "$secs" ] && [ "$secs" -gt 0 ] || secs=$(python3 -c "print(round($end - $start, 1))")
        rate=$(python3 -c "print(round($pairs / $secs))")
        recovered=$(grep -m1 'Recovered' "$work/hc.txt" | awk '{print $2}')
        row "hashcat -a 0 ${opt:-(pure)} [$recovered]" "$(nproc)" "$pairs" "$secs" \
            "$(cat "$work/cpu")" "$rate" $((rate / $(nproc))) "$(per_cpu "$pairs")"
    done
else
    echo "(hashcat not installed: apt-get install -y hashcat pocl-opencl-icd)"
fi

echo
echo "== candidate x token pairs per second ($(date -u +%Y-%m-%dT%H:%MZ))"
printf '%-36s %7s %12s %8s %8s %12s %12s %12s\n' tool threads pairs seconds "cpu s" \
    "pairs/s" "per thread" "per cpu s"
printf '%s\n' "${rows[@]}"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "seconds: cracking only (jwtsweep: its duration_secs; hashcat: from Time.Started)."
echo "cpu s: user + system of the whole process, startup included (hashcat builds"
echo "its OpenCL kernels and dictionary cache first, so its per-cpu-s is low)."
