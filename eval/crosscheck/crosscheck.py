"""Every metric of the demo catalogue, computed by Quarry from a SemanticQuery
and by DuckDB from SQL written by hand from the warehouse contract, on the
same generated Parquet files. Any disagreement fails.

The warehouse is the test one: scale 0.01, seed 7, 180 days ending on
Wednesday 2024-03-13 (so February 2024, a leap month, is "last month").
"""

import argparse
import json
import math
import subprocess
import sys
from pathlib import Path

import duckdb

FEB = {"kind": "between", "start": "2024-02-01", "end": "2024-02-29"}
FEB_TS = "BETWEEN TIMESTAMP '2024-02-01' AND TIMESTAMP '2024-02-29 23:59:59.999999'"
FEB_D = "BETWEEN DATE '2024-02-01' AND DATE '2024-02-29'"
JAN_TS = "BETWEEN TIMESTAMP '2024-01-01' AND TIMESTAMP '2024-01-31 23:59:59.999999'"

SPEND = f"(SELECT sum(spend) FROM ad_spend WHERE date {FEB_D})"
ATTR_REV = f"""(SELECT sum(e.revenue) FROM events e JOIN installs i USING (user_id)
               WHERE i.campaign_id IS NOT NULL AND e.event_time {FEB_TS})"""


def retention(n):
    return f"""
    WITH c AS (SELECT user_id, CAST(install_time AS DATE) AS d FROM installs WHERE install_time {JAN_TS}),
         s AS (SELECT DISTINCT user_id, CAST(event_time AS DATE) AS d FROM events WHERE event_name = 'session_start')
    SELECT (SELECT count(*) FROM c WHERE EXISTS (SELECT 1 FROM s WHERE s.user_id = c.user_id AND s.d = c.d + {n}))::DOUBLE
           / (SELECT count(*) FROM c)"""


# (name, plan, DuckDB SQL). Plans without dimensions return one row; with
# dimensions, rows are compared as sets keyed by the dimension values.
CHECKS = [
    ("spend", {"metrics": ["spend"], "time_range": FEB}, f"SELECT {SPEND}"),
    ("impressions", {"metrics": ["impressions"], "time_range": FEB},
     f"SELECT sum(impressions) FROM ad_spend WHERE date {FEB_D}"),
    ("clicks", {"metrics": ["clicks"], "time_range": FEB}, f"SELECT sum(clicks) FROM ad_spend WHERE date {FEB_D}"),
    ("ctr", {"metrics": ["ctr"], "time_range": FEB},
     f"SELECT sum(clicks)::DOUBLE / sum(impressions) FROM ad_spend WHERE date {FEB_D}"),
    ("installs", {"metrics": ["installs"], "time_range": FEB},
     f"SELECT count(*) FROM installs WHERE install_time {FEB_TS}"),
    ("paid_installs", {"metrics": ["paid_installs"], "time_range": FEB},
     f"SELECT count(*) FROM installs WHERE campaign_id IS NOT NULL AND install_time {FEB_TS}"),
    ("organic_installs", {"metrics": ["organic_installs"], "time_range": FEB},
     f"SELECT count(*) FROM installs WHERE campaign_id IS NULL AND install_time {FEB_TS}"),
    ("cpi", {"metrics": ["cpi"], "time_range": FEB},
     f"SELECT {SPEND} / (SELECT count(*) FROM installs WHERE campaign_id IS NOT NULL AND install_time {FEB_TS})"),
    ("revenue", {"metrics": ["revenue"], "time_range": FEB},
     f"SELECT sum(revenue) FROM events WHERE event_time {FEB_TS}"),
    ("purchases", {"metrics": ["purchases"], "time_range": FEB},
     f"SELECT count(*) FROM events WHERE event_name = 'purchase' AND event_time {FEB_TS}"),
    ("paying_users", {"metrics": ["paying_users"], "time_range": FEB},
     f"SELECT count(DISTINCT user_id) FROM events WHERE revenue > 0 AND event_time {FEB_TS}"),
    ("active_users", {"metrics": ["active_users"], "time_range": FEB},
     f"SELECT count(DISTINCT user_id) FROM events WHERE event_name = 'session_start' AND event_time {FEB_TS}"),
    ("arpu", {"metrics": ["arpu"], "time_range": FEB},
     f"""SELECT (SELECT sum(revenue) FROM events WHERE event_time {FEB_TS})
        / (SELECT count(DISTINCT user_id) FROM events WHERE event_name = 'session_start' AND event_time {FEB_TS})"""),
    ("attributed_revenue", {"metrics": ["attributed_revenue"], "time_range": FEB}, f"SELECT {ATTR_REV}"),
    ("roas", {"metrics": ["roas"], "time_range": FEB}, f"SELECT {ATTR_REV} / {SPEND}"),
    ("profit", {"metrics": ["profit"], "time_range": FEB}, f"SELECT {ATTR_REV} - {SPEND}"),
    ("retention_d1", {"metrics": ["retention_d1"], "time_range": {"kind": "between", "start": "2024-01-01", "end": "2024-01-31"}}, retention(1)),
    ("retention_d7", {"metrics": ["retention_d7"], "time_range": {"kind": "between", "start": "2024-01-01", "end": "2024-01-31"}}, retention(7)),
    ("retention_d30", {"metrics": ["retention_d30"], "time_range": {"kind": "between", "start": "2024-01-01", "end": "2024-01-31"}}, retention(30)),
    ("campaigns", {"metrics": ["campaigns"]}, "SELECT count(*) FROM campaigns"),
    ("publishers", {"metrics": ["publishers"]}, "SELECT count(*) FROM publishers"),
    ("users", {"metrics": ["users"]}, "SELECT count(*) FROM users"),
    ("roas by network", {"metrics": ["roas"], "dimensions": [{"name": "network"}], "time_range": FEB},
     f"""WITH r AS (SELECT c.network, sum(e.revenue) AS r FROM events e JOIN installs i USING (user_id)
                    JOIN campaigns c ON c.campaign_id = i.campaign_id WHERE e.event_time {FEB_TS} GROUP BY 1),
              s AS (SELECT c.network, sum(a.spend) AS s FROM ad_spend a JOIN campaigns c USING (campaign_id)
                    WHERE a.date {FEB_D} GROUP BY 1)
         SELECT s.network, coalesce(r.r, 0) / s.s FROM s LEFT JOIN r USING (network)"""),
    ("installs by network", {"metrics": ["installs"], "dimensions": [{"name": "network"}], "time_range": FEB},
     f"""SELECT coalesce(c.network, 'Organic'), count(*) FROM installs i LEFT JOIN campaigns c USING (campaign_id)
         WHERE i.install_time {FEB_TS} GROUP BY 1"""),
    ("revenue by country", {"metrics": ["revenue"], "dimensions": [{"name": "country"}], "time_range": FEB},
     f"""SELECT i.country, sum(e.revenue) FROM events e JOIN installs i USING (user_id)
         WHERE e.event_time {FEB_TS} GROUP BY 1"""),
    ("cpi by platform", {"metrics": ["cpi"], "dimensions": [{"name": "platform"}], "time_range": FEB},
     f"""WITH s AS (SELECT c.platform, sum(a.spend) AS s FROM ad_spend a JOIN campaigns c USING (campaign_id)
                    WHERE a.date {FEB_D} GROUP BY 1),
              n AS (SELECT platform, count(*) AS n FROM installs WHERE campaign_id IS NOT NULL AND install_time {FEB_TS} GROUP BY 1)
         SELECT s.platform, s.s / n.n FROM s JOIN n USING (platform)"""),
    ("weekly spend", {"metrics": ["spend"], "dimensions": [{"name": "date", "grain": "week"}],
                      "time_range": {"kind": "between", "start": "2024-02-22", "end": "2024-03-13"}},
     """SELECT strftime(date_trunc('week', date), '%Y-%m-%d'), sum(spend) FROM ad_spend
        WHERE date BETWEEN DATE '2024-02-22' AND DATE '2024-03-13' GROUP BY 1"""),
    ("d7 retention by network, January cohort",
     {"metrics": ["retention_d7"], "dimensions": [{"name": "network"}],
      "time_range": {"kind": "between", "start": "2024-01-01", "end": "2024-01-31"}},
     f"""WITH c AS (SELECT user_id, coalesce(k.network, 'Organic') AS network, CAST(install_time AS DATE) AS d
                    FROM installs i LEFT JOIN campaigns k USING (campaign_id) WHERE install_time {JAN_TS}),
              s AS (SELECT DISTINCT user_id, CAST(event_time AS DATE) AS d FROM events WHERE event_name = 'session_start')
         SELECT network, avg(CASE WHEN EXISTS (SELECT 1 FROM s WHERE s.user_id = c.user_id AND s.d = c.d + 7) THEN 1.0 ELSE 0.0 END)
         FROM c GROUP BY 1"""),
    ("last month vs January",
     {"metrics": ["installs"], "time_range": {"kind": "previous", "unit": "month"}, "compare": {"kind": "previous_period"}},
     f"""SELECT a, b, a - b, (a - b)::DOUBLE / abs(b) FROM
         (SELECT (SELECT count(*) FROM installs WHERE install_time {FEB_TS}) AS a,
                 (SELECT count(*) FROM installs WHERE install_time {JAN_TS}) AS b)"""),
]


def close(a, b):
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-6)
    return str(a) == str(b)


def normalise(rows, n_dims):
    """Rows keyed by their dimension values (all rows of a no-dimension answer)."""
    if n_dims == 0:
        return {(): rows[0] if rows else []}
    return {tuple(str(v) for v in r[:n_dims]): r[n_dims:] for r in rows}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quarry", required=True)
    ap.add_argument("--dir", required=True, help="where the test warehouse is generated")
    args = ap.parse_args()
    wh = Path(args.dir) / "warehouse"
    manifest = wh / "manifest.json"
    want = {"seed": 7, "scale": 0.01}
    if not manifest.exists() or any(json.loads(manifest.read_text()).get(k) != v for k, v in want.items()):
        subprocess.run([args.quarry, "demo", "generate", "--scale", "0.01", "--seed", "7",
                        "--end", "2024-03-13", "--days", "180", "--out", str(wh)], check=True)
    db = duckdb.connect()
    for t in ["campaigns", "publishers", "ad_spend", "installs", "events", "users"]:
        db.execute(f"CREATE VIEW {t} AS SELECT * FROM read_parquet('{wh / t}/*.parquet')")

    failures = 0
    for name, plan, sql in CHECKS:
        out = subprocess.run([args.quarry, "--warehouse", str(wh), "query", "--plan", "-", "--format", "json"],
                             input=json.dumps(plan), capture_output=True, text=True)
        if out.returncode != 0:
            print(f"FAIL  {name}: quarry said {out.stderr.strip()}")
            failures += 1
            continue
        ours = json.loads(out.stdout)["rows"]
        theirs = [list(r) for r in db.execute(sql).fetchall()]
        n_dims = len(plan.get("dimensions", []))
        a, b = normalise(ours, n_dims), normalise(theirs, n_dims)
        bad = [k for k in set(a) | set(b)
               if k not in a or k not in b or len(a[k]) != len(b[k]) or not all(close(x, y) for x, y in zip(a[k], b[k]))]
        # Rows whose metric is missing on one side only because the other side
        # has no row at all (e.g. a network with no spend) are a real difference.
        if bad:
            failures += 1
            print(f"FAIL  {name}")
            for k in sorted(bad, key=str)[:5]:
                print(f"        {k}: quarry {a.get(k)} duckdb {b.get(k)}")
        else:
            print(f"ok    {name} ({len(a)} row{'s' if len(a) != 1 else ''})")
    total = len(CHECKS)
    print(f"crosscheck: {total - failures} passed, {failures} failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
