#!/usr/bin/env python3
"""Check the question set: structure, tags, and every gold query.

    python3 eval/ask/check_gold.py /path/to/quarry [--questions eval/ask/questions.yaml]

Validates the YAML (unique kebab-case ids, known tags and expect values, gold
present exactly where an answer is expected, metric names from the semantic
model), then runs every gold query through `quarry sql --format json` one at a
time and reports those that fail, return no rows (unless tagged `empty`), or
return NULLs or duplicate column names. Prints counts per tag and the metric
coverage at the end. Exits 1 on any error.

Needs Python 3 and PyYAML. Pass --data-dir (or set QUARRY_DATA_DIR) when the
warehouse is not under ./.quarry; --no-run checks the structure only.
"""

import argparse
import collections
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent

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
ITEM_KEYS = {"id", "question", "tags", "expect", "gold", "ordered", "note", "metrics", "turns",
             "optional_rows", "more_rows_ok"}
TURN_KEYS = {"question", "expect", "gold", "ordered", "note", "metrics", "optional_rows", "more_rows_ok"}


def tag_ok(tag):
    if not isinstance(tag, str):
        return False
    if tag in PLAIN_TAGS:
        return True
    kind, _, value = tag.partition(":")
    return (kind == "metric" and value in METRIC_KINDS) or (kind == "time" and value in TIME_KINDS) \
        or (kind == "grain" and value in GRAINS)


def load_model_metrics(model_dir):
    path = Path(model_dir) / "metrics.yaml"
    if not path.exists():
        return None
    return {m["name"] for m in yaml.safe_load(path.read_text())["metrics"]}


def validate(doc, known_metrics):
    """Structural errors, and the list of (label, item, turn) with gold to run."""
    errors, runs = [], []
    if not isinstance(doc, dict) or "questions" not in doc:
        return ["top level must be a mapping with `as_of` and `questions`"], runs
    if "as_of" not in doc:
        errors.append("missing `as_of`")
    seen = set()
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
            errors.append(f"{label}: duplicate id")
        seen.add(qid)
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
            if "question" in item or "gold" in item or "ordered" in item or "metrics" in item:
                errors.append(f"{label}: a chain keeps question/gold/ordered/metrics in its turns")
            if item.get("expect", "answer") != "answer":
                errors.append(f"{label}: a chain sets expect per turn")
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
                errors += check_entry(tl, turn, tags, known_metrics)
                if turn.get("expect", "answer") == "answer" and isinstance(turn.get("gold"), str):
                    runs.append((tl, item, turn))
        else:
            errors += check_entry(label, item, tags, known_metrics)
            if item.get("expect", "answer") == "answer" and isinstance(item.get("gold"), str):
                runs.append((label, item, item))
    return errors, runs


def check_entry(label, entry, tags, known_metrics):
    errors = []
    if not isinstance(entry.get("question"), str) or not entry["question"].strip():
        errors.append(f"{label}: question missing")
    expect = entry.get("expect", "answer")
    if expect not in EXPECT:
        errors.append(f"{label}: expect must be one of {sorted(EXPECT)}")
    if expect == "answer":
        if not isinstance(entry.get("gold"), str) or not entry["gold"].strip():
            errors.append(f"{label}: an answer needs gold SQL")
        metrics = entry.get("metrics")
        if not isinstance(metrics, list) or not metrics:
            errors.append(f"{label}: an answer lists the model metrics it asks for in `metrics`")
        elif known_metrics is not None:
            for m in metrics:
                if m not in known_metrics:
                    errors.append(f"{label}: `{m}` is not a metric of the model")
        if "ordered" in entry and not isinstance(entry["ordered"], bool):
            errors.append(f"{label}: ordered must be true or false")
        if entry.get("ordered") and "order by" not in entry["gold"].lower():
            errors.append(f"{label}: ordered gold needs an ORDER BY")
    else:
        for key in ("gold", "ordered", "metrics"):
            if key in entry:
                errors.append(f"{label}: `{key}` only goes with expect: answer")
        need = {"clarification": {"ambiguous"},
                "refusal": {"unanswerable", "write_request", "personal_data", "forecast"}}[expect]
        if not need & set(tags):
            errors.append(f"{label}: expect {expect} needs one of the tags {sorted(need)}")
    return errors


def run_sql(quarry, sql, env):
    out = subprocess.run([quarry, "sql", "--format", "json", sql], capture_output=True, text=True, env=env)
    if out.returncode != 0:
        return None, (out.stderr.strip() or out.stdout.strip() or f"exit {out.returncode}").splitlines()[-1]
    try:
        return json.loads(out.stdout), None
    except json.JSONDecodeError as e:
        return None, f"unreadable output: {e}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("quarry", nargs="?", help="path to the quarry binary (needed unless --no-run)")
    ap.add_argument("--questions", default=str(HERE / "questions.yaml"))
    ap.add_argument("--model", default=str(REPO / "schema" / "models" / "demo"),
                    help="semantic model folder, for metric names")
    ap.add_argument("--data-dir", help="Quarry data dir holding the warehouse (else QUARRY_DATA_DIR or ./.quarry)")
    ap.add_argument("--only", help="run only the ids containing this string")
    ap.add_argument("--show", action="store_true", help="print the result of each gold query")
    ap.add_argument("--no-run", action="store_true", help="check the structure only")
    args = ap.parse_args()

    doc = yaml.safe_load(Path(args.questions).read_text())
    known_metrics = load_model_metrics(args.model)
    errors, runs = validate(doc, known_metrics)
    for e in errors:
        print(f"INVALID  {e}")

    items = doc.get("questions", []) if isinstance(doc, dict) else []
    failures = 0
    if not args.no_run:
        if not args.quarry:
            ap.error("the path to the quarry binary is required (or --no-run)")
        env = dict(os.environ)
        if args.data_dir:
            env["QUARRY_DATA_DIR"] = args.data_dir
        started = time.time()
        for label, item, entry in runs:
            if args.only and args.only not in item.get("id", ""):
                continue
            t0 = time.time()
            res, err = run_sql(args.quarry, entry["gold"], env)
            took = time.time() - t0
            if err:
                failures += 1
                print(f"FAIL     {label}: {err}")
                continue
            rows, cols = res.get("rows", []), res.get("columns", [])
            problems = []
            if not rows and "empty" not in item.get("tags", []):
                problems.append("no rows")
            if rows and "empty" in item.get("tags", []):
                problems.append("tagged empty but returned rows")
            if len(set(cols)) != len(cols):
                problems.append(f"duplicate column names {cols}")
            if any(v is None for r in rows for v in r):
                problems.append("NULL in result")
            if problems:
                failures += 1
                print(f"FAIL     {label}: {'; '.join(problems)}")
            elif args.show:
                print(f"ok       {label} ({len(rows)} rows, {took:.1f}s) {cols}")
                for r in rows[:12]:
                    print(f"           {r}")
                if len(rows) > 12:
                    print(f"           ... {len(rows) - 12} more")
            else:
                print(f"ok       {label} ({len(rows)} row{'s' if len(rows) != 1 else ''}, {took:.1f}s)")
        print(f"ran {len(runs)} gold queries in {time.time() - started:.0f}s")

    # Counts: items, answerable questions (each turn of a chain), per expect and per tag.
    n_items = len(items)
    per_expect, per_tag, covered = collections.Counter(), collections.Counter(), collections.Counter()
    for item in items:
        if not isinstance(item, dict):
            continue
        for t in item.get("tags", []) or []:
            per_tag[t] += 1
        entries = item.get("turns") or [item]
        for e in entries:
            if isinstance(e, dict):
                per_expect[e.get("expect", "answer")] += 1
                for m in e.get("metrics", []) or []:
                    covered[m] += 1
    print(f"\nitems: {n_items}; questions incl. turns: {sum(per_expect.values())} "
          f"(answer {per_expect['answer']}, clarification {per_expect['clarification']}, "
          f"refusal {per_expect['refusal']})")
    print("tags: " + ", ".join(f"{t} {c}" for t, c in sorted(per_tag.items())))
    if known_metrics is not None:
        missing = sorted(known_metrics - set(covered))
        print("metrics: " + ", ".join(f"{m} {covered[m]}" for m in sorted(known_metrics)))
        if missing:
            print(f"metrics never asked: {', '.join(missing)}")

    if errors or failures:
        print(f"\n{len(errors)} structural error(s), {failures} failing gold quer{'y' if failures == 1 else 'ies'}")
        sys.exit(1)
    print("\nall good")


if __name__ == "__main__":
    main()
