#!/usr/bin/env python3
"""Check an example question set: structure, tags, and every gold query.

    .quarry/venv/bin/python examples/check_gold.py examples/shop/questions.yaml \
        --warehouse .quarry/examples/shop/warehouse

Validates the YAML (a mapping with `questions` and, for a warehouse with dates,
`as_of`: a set over a snapshot without dates omits it; unique kebab-case
ids; known tags and `expect` values; gold present exactly where an answer is
expected; an ORDER BY in `ordered: true` gold; chains tagged `followup` with
per-turn questions), then runs every gold query in DuckDB over the warehouse
folder (one view per sub-folder, reading its *.parquet files) and fails on a
query that errors, returns no rows (unless the item is tagged `empty`), returns
a NULL or repeats a column name. It also flags a few DuckDB-only constructs,
since the gold must run unchanged in Apache DataFusion too. Prints counts per
expect kind and per tag. Exits 1 on any problem.

Several question files may be given; each is checked on its own, and ids must
also be unique across them. Needs duckdb and PyYAML
(`.quarry/venv/bin/pip install pyyaml`).
"""

import argparse
import collections
import re
import sys
import time
from pathlib import Path

import yaml

EXPECT = {"answer", "clarification", "refusal"}
TIME_KINDS = {
    "today", "yesterday", "last_n_days", "previous_week", "current_week",
    "previous_month", "current_month", "quarter", "named_month", "since",
    "between", "default", "ytd", "all",
}
METRIC_KINDS = {"simple", "ratio", "derived", "retention", "count", "ml"}
PLAIN_TAGS = {
    "breakdown", "two_dims", "top_n", "bottom_n", "filter", "negation",
    "threshold", "compare_period", "compare_segments", "followup",
    "misspelling", "paraphrase", "casual", "wordy", "polite", "ambiguous",
    "unanswerable", "write_request", "personal_data", "forecast",
    "out_of_range", "cohort", "empty", "share",
}
GRAINS = {"day", "week", "month"}
ID_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
ITEM_KEYS = {"id", "question", "tags", "expect", "gold", "ordered", "note", "metrics", "turns"}
TURN_KEYS = {"question", "expect", "gold", "ordered", "note", "metrics"}
# Constructs DuckDB accepts and DataFusion does not (a lint, not a parser).
NOT_PORTABLE = [
    (re.compile(r"\b(dayname|monthname|strftime|strptime|epoch|epoch_ms|date_diff|datediff|date_sub|"
                r"count_if|list_\w+|array_agg|string_agg|struct_pack|make_date|last_day|dayofweek|isodow)\s*\(", re.I),
     "DuckDB-only function"),
    (re.compile(r"\bqualify\b", re.I), "QUALIFY"),
    (re.compile(r"\bgroup\s+by\s+all\b", re.I), "GROUP BY ALL"),
    (re.compile(r"\border\s+by\s+all\b", re.I), "ORDER BY ALL"),
    (re.compile(r"\bfrom\s+'", re.I), "reading a file in FROM"),
]
REFUSAL_TAGS = {"unanswerable", "write_request", "personal_data", "forecast", "out_of_range"}


def tag_ok(tag):
    if not isinstance(tag, str):
        return False
    if tag in PLAIN_TAGS:
        return True
    kind, _, value = tag.partition(":")
    return (kind == "metric" and value in METRIC_KINDS) or (kind == "time" and value in TIME_KINDS) \
        or (kind == "grain" and value in GRAINS)


def check_entry(label, entry, tags):
    errors = []
    if not isinstance(entry.get("question"), str) or not entry["question"].strip():
        errors.append(f"{label}: question missing")
    expect = entry.get("expect", "answer")
    if expect not in EXPECT:
        errors.append(f"{label}: expect must be one of {sorted(EXPECT)}")
        return errors
    if "note" in entry and (not isinstance(entry["note"], str) or not entry["note"].strip()):
        errors.append(f"{label}: note must be a non-empty string")
    if expect == "answer":
        gold = entry.get("gold")
        if not isinstance(gold, str) or not gold.strip():
            errors.append(f"{label}: an answer needs gold SQL")
            return errors
        if "ordered" in entry and not isinstance(entry["ordered"], bool):
            errors.append(f"{label}: ordered must be true or false")
        if entry.get("ordered") and "order by" not in gold.lower():
            errors.append(f"{label}: ordered gold needs an ORDER BY")
        for pattern, what in NOT_PORTABLE:
            m = pattern.search(gold)
            if m:
                errors.append(f"{label}: not portable to DataFusion ({what}: `{m.group(0)}`)")
    else:
        for key in ("gold", "ordered", "metrics"):
            if key in entry:
                errors.append(f"{label}: `{key}` only goes with expect: answer")
        if expect == "clarification":
            if "ambiguous" not in tags:
                errors.append(f"{label}: expect clarification needs the tag ambiguous")
            if not entry.get("note"):
                errors.append(f"{label}: a clarification needs a note saying why the question is ambiguous")
        if expect == "refusal" and not REFUSAL_TAGS & set(tags):
            errors.append(f"{label}: expect refusal needs one of the tags {sorted(REFUSAL_TAGS)}")
    return errors


def validate(doc, seen, fname="this file"):
    """Structural errors, and the list of (label, item, entry) with gold to run."""
    errors, runs = [], []
    if not isinstance(doc, dict) or not isinstance(doc.get("questions"), list):
        return ["top level must be a mapping with a `questions` list (and `as_of` if the data has dates)"], runs
    for k in set(doc) - {"as_of", "questions"}:
        errors.append(f"unknown top-level key `{k}`")
    for n, item in enumerate(doc["questions"]):
        label = item.get("id", f"#{n}") if isinstance(item, dict) else f"#{n}"
        if not isinstance(item, dict):
            errors.append(f"{label}: not a mapping")
            continue
        for k in set(item) - ITEM_KEYS:
            errors.append(f"{label}: unknown key `{k}`")
        qid = item.get("id")
        if not isinstance(qid, str) or not ID_RE.match(qid):
            errors.append(f"{label}: id must be kebab-case")
        elif qid in seen:
            errors.append(f"{label}: duplicate id (also in {seen[qid]})")
        else:
            seen[qid] = fname
        tags = item.get("tags")
        if not isinstance(tags, list) or not tags:
            errors.append(f"{label}: tags must be a non-empty list")
            tags = []
        for t in tags:
            if not tag_ok(t):
                errors.append(f"{label}: unknown tag `{t}`")
        if len(set(map(str, tags))) != len(tags):
            errors.append(f"{label}: repeated tag")
        if "turns" in item:
            if any(k in item for k in ("question", "gold", "ordered", "metrics", "expect")):
                errors.append(f"{label}: a chain keeps question/expect/gold/ordered/metrics in its turns")
            if "followup" not in tags:
                errors.append(f"{label}: a chain must be tagged followup")
            turns = item["turns"]
            if not isinstance(turns, list) or len(turns) < 2:
                errors.append(f"{label}: turns must list at least 2 turns")
                continue
            for k, turn in enumerate(turns, 1):
                tl = f"{label} turn {k}"
                if not isinstance(turn, dict):
                    errors.append(f"{tl}: not a mapping")
                    continue
                for key in set(turn) - TURN_KEYS:
                    errors.append(f"{tl}: unknown key `{key}`")
                errors += check_entry(tl, turn, tags)
                if turn.get("expect", "answer") == "answer" and isinstance(turn.get("gold"), str):
                    runs.append((tl, item, turn))
        else:
            if "followup" in tags:
                errors.append(f"{label}: tagged followup but has no turns")
            errors += check_entry(label, item, tags)
            if item.get("expect", "answer") == "answer" and isinstance(item.get("gold"), str):
                runs.append((label, item, item))
    return errors, runs


def connect(warehouse):
    import duckdb

    con = duckdb.connect(":memory:")
    root = Path(warehouse)
    tables = sorted(p.name for p in root.iterdir() if p.is_dir() and any(p.glob("*.parquet")))
    if not tables:
        sys.exit(f"no table folders with Parquet files under {root}")
    for t in tables:
        glob = str(root / t / "*.parquet").replace("'", "''")
        con.execute(f"CREATE VIEW \"{t}\" AS SELECT * FROM read_parquet('{glob}')")
    return con, tables


def run_gold(con, runs, only, show):
    failures = 0
    started = time.time()
    for label, item, entry in runs:
        if only and only not in item.get("id", ""):
            continue
        t0 = time.time()
        try:
            cur = con.execute(entry["gold"])
            cols = [d[0] for d in cur.description]
            rows = cur.fetchall()
        except Exception as e:  # duckdb raises several error classes
            failures += 1
            print(f"FAIL     {label}: {str(e).splitlines()[0]}")
            continue
        took = time.time() - t0
        tags = item.get("tags", [])
        problems = []
        if not rows and "empty" not in tags:
            problems.append("no rows")
        if rows and "empty" in tags:
            problems.append("tagged empty but returned rows")
        if len(set(c.lower() for c in cols)) != len(cols):
            problems.append(f"duplicate column names {cols}")
        if any(v is None for r in rows for v in r):
            problems.append("NULL in result")
        if problems:
            failures += 1
            print(f"FAIL     {label}: {'; '.join(problems)}")
            continue
        print(f"ok       {label} ({len(rows)} row{'s' if len(rows) != 1 else ''}, {took:.2f}s)")
        if show:
            print(f"           {cols}")
            for r in rows[:12]:
                print(f"           {tuple(round(v, 4) if isinstance(v, float) else v for v in r)}")
            if len(rows) > 12:
                print(f"           ... {len(rows) - 12} more")
    print(f"ran {len(runs) if not only else 'selected'} gold queries in {time.time() - started:.1f}s")
    return failures


def counts(items):
    per_expect, per_tag = collections.Counter(), collections.Counter()
    item_expect = collections.Counter()
    for item in items:
        if not isinstance(item, dict):
            continue
        for t in item.get("tags", []) or []:
            per_tag[t] += 1
        entries = item.get("turns") or [item]
        kinds = [e.get("expect", "answer") for e in entries if isinstance(e, dict)]
        for k in kinds:
            per_expect[k] += 1
        item_expect["chain" if "turns" in item else kinds[0] if kinds else "?"] += 1
    print(f"items: {len(items)} ({', '.join(f'{k} {v}' for k, v in sorted(item_expect.items()))}); "
          f"questions incl. turns: {sum(per_expect.values())} "
          f"(answer {per_expect['answer']}, clarification {per_expect['clarification']}, "
          f"refusal {per_expect['refusal']})")
    print("tags: " + ", ".join(f"{t} {c}" for t, c in sorted(per_tag.items())))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("questions", nargs="+", help="question YAML file(s)")
    ap.add_argument("--warehouse", help="warehouse folder (one sub-folder of Parquet files per table)")
    ap.add_argument("--only", help="run only the ids containing this string")
    ap.add_argument("--show", action="store_true", help="print the result of each gold query")
    ap.add_argument("--no-run", action="store_true", help="check the structure only")
    args = ap.parse_args()
    if not args.no_run and not args.warehouse:
        ap.error("--warehouse DIR is required (or --no-run)")

    con = None
    if not args.no_run:
        con, tables = connect(args.warehouse)
        print(f"warehouse {args.warehouse}: views {', '.join(tables)}")

    seen, bad = {}, False
    for path in args.questions:
        print(f"\n== {path}")
        doc = yaml.safe_load(Path(path).read_text())
        errors, runs = validate(doc, seen, path)
        for e in errors:
            print(f"INVALID  {e}")
        failures = 0 if con is None else run_gold(con, runs, args.only, args.show)
        items = doc.get("questions", []) if isinstance(doc, dict) else []
        print()
        counts(items)
        if errors or failures:
            bad = True
            print(f"{path}: {len(errors)} structural error(s), "
                  f"{failures} failing gold quer{'y' if failures == 1 else 'ies'}")
        else:
            print(f"{path}: all good")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
