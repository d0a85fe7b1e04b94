#!/bin/sh
# Renders a jwtsweep HTML report in headless Chromium and checks the
# screenshot is not blank (more than one colour in its pixels).
#
#   scripts/render-html.sh [report.html] [out.png]
#
# Without a report it scans the demo log first. Needs Debian's chromium:
#   apt-get update && apt-get install -y chromium
set -eu

cd "$(dirname "$0")/.."
report=${1:-}
png=${2:-target/report.png}
if [ -z "$report" ]; then
    report=target/demo-report.html
    cargo run --quiet -- scan --jwks fixtures/demo/keys/jwks.json \
        --issuer https://issuer.example --audience api \
        --format html -o "$report" fixtures/demo/access.log || [ $? -eq 1 ]
fi
if ! command -v chromium >/dev/null; then
    echo "chromium not installed: apt-get update && apt-get install -y chromium" >&2
    exit 2
fi

chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
    --hide-scrollbars --window-size=1000,2400 --screenshot="$png" \
    "file://$(realpath "$report")" 2>/dev/null

# Count the distinct byte values of the decoded scanlines: a blank page is
# one colour (a couple of values), a report is many.
python3 - "$png" <<'PY'
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
pos, idat = 8, b""
while pos < len(data):
    length, kind = struct.unpack(">I4s", data[pos:pos + 8])
    if kind == b"IDAT":
        idat += data[pos + 8:pos + 8 + length]
    pos += 12 + length
values = len(set(zlib.decompress(idat)))
print(f"{sys.argv[1]}: {values} distinct byte values")
sys.exit(0 if values > 16 else 1)
PY
