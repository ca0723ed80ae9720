#!/usr/bin/env python3
"""Writes a CSV of N unique, valid-looking leads for import measurements.

Usage: scripts/gen-leads.py N OUT.csv

Phones cycle through four notations (E.164, (xxx) xxx-xxxx, dotted, bare digits) over eight
US area codes; every tenth company name is quoted and contains a comma; time zones cycle
through eight zones. Deterministic: the same N gives the same file.
"""
import sys

ZONES = ["America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles",
         "America/Phoenix", "Europe/London", "Europe/Berlin", "Australia/Sydney"]
AREAS = [212, 312, 415, 646, 718, 305, 503, 617]


def main() -> None:
    n, out = int(sys.argv[1]), sys.argv[2]
    if n > 8_000_000:
        sys.exit("at most 8,000,000 unique numbers")
    with open(out, "w", encoding="utf-8", newline="") as f:
        f.write("Company Name,Contact Name,Phone,Email,Timezone\n")
        for i in range(n):
            exchange = 200 + (i // 10000) % 800
            digits = f"{AREAS[i % 8]}{exchange:03d}{i % 10000:04d}"
            phone = [f"+1{digits}", f"({digits[:3]}) {digits[3:6]}-{digits[6:]}",
                     f"{digits[:3]}.{digits[3:6]}.{digits[6:]}", digits][i % 4]
            company = f'"Company {i}, Inc."' if i % 10 == 0 else f"Company {i}"
            f.write(f"{company},Contact {i},{phone},contact{i}@example.com,{ZONES[i % 8]}\n")


if __name__ == "__main__":
    main()
