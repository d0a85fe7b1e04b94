#!/usr/bin/env python3
"""The baseline a user would otherwise write in Python: find tokens in a
log with a regular expression and decode every occurrence with PyJWT, keys
picked by kid from a JWK Set, validating exp, iss and aud. Prints
occurrences, valid count, seconds and occurrences per second as JSON.

usage: pyjwt_scan.py LOG JWKS ISSUER AUDIENCE
"""
import json
import re
import sys
import time

import jwt

TOKEN = re.compile(rb"ey[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*")


def main():
    log, jwks, issuer, audience = sys.argv[1:5]
    with open(jwks) as f:
        keyset = jwt.PyJWKSet.from_dict(json.load(f))
    keys = {k.key_id: k for k in keyset.keys}
    started = time.perf_counter()
    total = valid = 0
    with open(log, "rb") as f:
        for line in f:
            for m in TOKEN.finditer(line):
                total += 1
                token = m.group(0).decode()
                try:
                    header = jwt.get_unverified_header(token)
                    key = keys[header["kid"]]
                    jwt.decode(token, key.key, algorithms=[header["alg"]],
                               audience=audience, issuer=issuer)
                    valid += 1
                except Exception:
                    pass
    secs = time.perf_counter() - started
    print(json.dumps({"tool": "pyjwt", "occurrences": total, "valid": valid,
                      "secs": round(secs, 3), "per_sec": round(total / secs)}))


if __name__ == "__main__":
    main()
