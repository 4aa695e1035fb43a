"""After `QUARRY_SLT_COMPLETE=1` rewrites expected results, check that every
PLAN record's result equals the hand-written SQL record right after it, so
that the completed file pins values two independent computations agree on."""
import re
import sys
from pathlib import Path

bad = 0
for f in sorted(Path(__file__).parent.glob("*.slt")):
    records = re.split(r"\n(?=query |statement )", f.read_text())
    parsed = []
    for r in records:
        if not r.startswith("query "):
            continue
        head, _, result = r.partition("\n----\n")
        sql = head.split("\n", 1)[1] if "\n" in head else ""
        parsed.append((sql.strip(), result.split("\n\n")[0].strip()))
    for i, (sql, result) in enumerate(parsed):
        if sql.startswith("PLAN"):
            twin = parsed[i + 1] if i + 1 < len(parsed) else None
            if twin is None or twin[0].startswith("PLAN"):
                print(f"{f.name}: no hand-written twin after {sql[:80]}")
                bad += 1
            elif twin[1] != result:
                print(f"{f.name}: mismatch\n  {sql[:100]}\n  plan: {result!r}\n  hand: {twin[1]!r}")
                bad += 1
print(f"pairs: {'ok' if not bad else str(bad) + ' problem(s)'}")
sys.exit(1 if bad else 0)
