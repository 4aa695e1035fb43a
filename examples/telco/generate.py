#!/usr/bin/env python3
"""Generate the `telco` example warehouse: a subscriber snapshot of a
phone-and-broadband operator, with no time column at all.

Usage: generate.py --out DIR [--seed 42]

Writes DIR/subscribers/part-0.parquet and DIR/regions/part-0.parquet, plus
DIR/manifest.json. The data is deterministic for a given seed (one
random.Random, no wall clock). Column names are mixed case on purpose, in the
style of the well-known public telco churn sample. The contract is in
README.md next to this file; keep the two in step.
"""
import argparse
import csv
import json
import math
import os
import random
import shutil
import string
import sys
import tempfile
import time

import duckdb

DOMAIN = "telco"
SUBSCRIBERS = 8000

# RegionCode, RegionName, Country, share of subscribers, fiber availability
# (share of internet subscribers on fiber), churn adjustment (logit)
REGIONS = [
    ("CA-BAY", "San Francisco Bay Area", "United States", 0.18, 0.62, 0.00),
    ("CA-LA", "Greater Los Angeles", "United States", 0.22, 0.58, 0.05),
    ("CA-SD", "San Diego", "United States", 0.10, 0.55, 0.00),
    ("CA-CV", "Central Valley", "United States", 0.08, 0.30, -0.25),
    ("OR-PDX", "Portland Metro", "United States", 0.09, 0.50, -0.05),
    ("WA-SEA", "Seattle Metro", "United States", 0.11, 0.60, 0.05),
    ("NV-LV", "Las Vegas Valley", "United States", 0.07, 0.57, 0.45),
    ("AZ-PHX", "Phoenix Metro", "United States", 0.07, 0.52, 0.10),
    ("BC-VAN", "Metro Vancouver", "Canada", 0.06, 0.55, -0.10),
    ("BC-VIC", "Vancouver Island", "Canada", 0.02, 0.25, -0.30),
]

PAYMENT_METHODS = ["Electronic check", "Mailed check", "Bank transfer (automatic)",
                   "Credit card (automatic)"]


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def yn(b: bool) -> str:
    return "Yes" if b else "No"


# --- writing ---------------------------------------------------------------------

def fmt(v):
    return "" if v is None else v


def write_table(con, tmp, out, name, columns, rows, order_by):
    csv_path = os.path.join(tmp, name + ".csv")
    with open(csv_path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow([c for c, _ in columns])
        for r in rows:
            w.writerow([fmt(v) for v in r])
    spec = ", ".join(f"'{c}': '{t}'" for c, t in columns)
    con.execute(
        f"CREATE OR REPLACE TABLE \"{name}\" AS SELECT * FROM read_csv('{csv_path}', "
        f"header = true, delim = ',', quote = '\"', escape = '\"', nullstr = '', "
        f"columns = {{{spec}}})"
    )
    folder = os.path.join(out, name)
    if os.path.isdir(folder):
        shutil.rmtree(folder)
    os.makedirs(folder)
    target = os.path.join(folder, "part-0.parquet")
    con.execute(
        f"COPY (SELECT * FROM \"{name}\" ORDER BY {order_by}) TO '{target}' (FORMAT PARQUET)"
    )
    return con.execute(f"SELECT count(*) FROM \"{name}\"").fetchone()[0]


# --- generation ------------------------------------------------------------------

def subscriber(rng, ids):
    while True:
        cid = "%04d-%s" % (rng.randrange(10000),
                           "".join(rng.choice(string.ascii_uppercase) for _ in range(5)))
        if cid not in ids:
            ids.add(cid)
            break
    region = rng.choices(REGIONS, weights=[r[3] for r in REGIONS])[0]
    gender = rng.choice(["Female", "Male"])
    senior = rng.random() < 0.16
    partner = rng.random() < 0.48
    dependents = rng.random() < (0.50 if partner else 0.10)

    # contract, then tenure in months (capped at 72: the sample keeps six years)
    w = [0.55, 0.21, 0.24]
    if senior:
        w = [0.70, 0.16, 0.14]
    contract = rng.choices(["Month-to-month", "One year", "Two year"], weights=w)[0]
    if rng.random() < 0.0015:
        contract, tenure = "Two year", 0  # joined this month, first bill not yet issued
    elif contract == "Month-to-month":
        if rng.random() < 0.65:
            tenure = 1 + int(rng.expovariate(1 / 9.0))
        else:
            tenure = rng.randint(1, 72)
    elif contract == "One year":
        tenure = int(rng.triangular(1, 72, 45))
    else:
        tenure = int(rng.triangular(8, 80, 72))
    tenure = max(0, min(72, tenure))

    # services
    phone = rng.random() < 0.90
    multiple = phone and rng.random() < (0.42 + 0.004 * tenure)
    if not phone:
        internet = "DSL" if rng.random() < 0.85 else "Fiber optic"
    else:
        u = rng.random()
        if u < 0.22:
            internet = "No"
        else:
            internet = "Fiber optic" if rng.random() < region[4] else "DSL"
    has_net = internet != "No"
    longc = contract != "Month-to-month"

    def addon(p):
        return rng.random() < p if has_net else None

    security = addon((0.45 if internet == "DSL" else 0.28) + (0.15 if longc else 0.0))
    backup = addon(0.38 + (0.12 if longc else 0.0))
    protection = addon(0.38 + (0.12 if longc else 0.0))
    tech = addon((0.45 if internet == "DSL" else 0.27) + (0.18 if longc else 0.0))
    tv = addon(0.35 if internet == "DSL" else 0.55)
    movies = addon(0.35 if internet == "DSL" else 0.56)

    paperless = rng.random() < (0.72 if internet == "Fiber optic" else 0.52 if has_net else 0.30)
    pw = [0.45, 0.18, 0.19, 0.18] if not longc else [0.15, 0.25, 0.31, 0.29]
    if not has_net:
        pw = [0.10, 0.45, 0.23, 0.22]
    payment = rng.choices(PAYMENT_METHODS, weights=pw)[0]

    # monthly charges (USD)
    m = 0.0
    if phone:
        m += 19.5 + (5.0 if multiple else 0.0)
    if internet == "DSL":
        m += 24.0
    elif internet == "Fiber optic":
        m += 49.0
    m += 5.0 * sum(bool(x) for x in (security, backup, protection, tech))
    m += 10.0 * sum(bool(x) for x in (tv, movies))
    if contract == "Two year":
        m *= 0.97
    monthly = round(m * rng.uniform(0.97, 1.04) + rng.uniform(-0.5, 0.5), 2)
    if tenure == 0:
        total = None
    else:
        # earlier months were billed at slightly different prices and bundles
        total = round(monthly * tenure * rng.uniform(0.93, 1.03), 2)
        total = max(total, round(monthly * 0.9, 2))

    # churn: true propensity, the observed outcome and the model's score
    z = -1.95
    z += {"Month-to-month": 1.30, "One year": -0.55, "Two year": -1.95}[contract]
    z -= 0.65 * math.log1p(tenure / 4.0)
    z += {"Fiber optic": 0.85, "DSL": 0.0, "No": -1.0}[internet]
    if has_net and not tech:
        z += 0.45
    if has_net and not security:
        z += 0.40
    if senior:
        z += 0.40
    if payment == "Electronic check":
        z += 0.45
    if paperless:
        z += 0.25
    if dependents:
        z -= 0.25
    if tv and movies:
        z += 0.15
    z += region[5]
    z += 0.35
    churn = tenure > 0 and rng.random() < sigmoid(z)
    # the retention model sees the same drivers, a little over-confidently and with noise
    score = min(0.9999, max(0.0001, round(sigmoid(1.2 * z + rng.gauss(0, 0.6)), 4)))

    def svc(v, none_label):
        return none_label if v is None else yn(v)

    return (
        cid, gender, int(senior), yn(partner), yn(dependents), tenure, yn(phone),
        yn(multiple) if phone else "No phone service", internet,
        svc(security, "No internet service"), svc(backup, "No internet service"),
        svc(protection, "No internet service"), svc(tech, "No internet service"),
        svc(tv, "No internet service"), svc(movies, "No internet service"),
        contract, yn(paperless), payment, monthly, total, yn(churn), score, region[0],
    )


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="warehouse directory to write")
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args()
    t0 = time.monotonic()
    rng = random.Random(args.seed)
    out = args.out
    os.makedirs(out, exist_ok=True)

    ids = set()
    subs = [subscriber(rng, ids) for _ in range(SUBSCRIBERS)]
    region_rows = [(r[0], r[1], r[2]) for r in REGIONS]

    con = duckdb.connect()
    con.execute("SET threads = 2")
    counts = {}
    with tempfile.TemporaryDirectory(prefix="quarry-telco-") as tmp:
        counts["subscribers"] = write_table(con, tmp, out, "subscribers", [
            ("customerID", "VARCHAR"), ("gender", "VARCHAR"), ("SeniorCitizen", "BIGINT"),
            ("Partner", "VARCHAR"), ("Dependents", "VARCHAR"), ("tenure", "BIGINT"),
            ("PhoneService", "VARCHAR"), ("MultipleLines", "VARCHAR"),
            ("InternetService", "VARCHAR"), ("OnlineSecurity", "VARCHAR"),
            ("OnlineBackup", "VARCHAR"), ("DeviceProtection", "VARCHAR"),
            ("TechSupport", "VARCHAR"), ("StreamingTV", "VARCHAR"),
            ("StreamingMovies", "VARCHAR"), ("Contract", "VARCHAR"),
            ("PaperlessBilling", "VARCHAR"), ("PaymentMethod", "VARCHAR"),
            ("MonthlyCharges", "DOUBLE"), ("TotalCharges", "DOUBLE"), ("Churn", "VARCHAR"),
            ("ChurnScore", "DOUBLE"), ("RegionCode", "VARCHAR")], subs, '"customerID"')
        counts["regions"] = write_table(con, tmp, out, "regions", [
            ("RegionCode", "VARCHAR"), ("RegionName", "VARCHAR"), ("Country", "VARCHAR")],
            region_rows, '"RegionCode"')
    con.close()

    manifest = {"domain": DOMAIN, "seed": args.seed, "as_of": None, "tables": counts}
    with open(os.path.join(out, "manifest.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    summary = ", ".join(f"{k} {v}" for k, v in counts.items())
    print(f"telco: {len(counts)} tables ({summary}), snapshot (no time column), "
          f"seed {args.seed}, {time.monotonic() - t0:.1f}s -> {out}")


if __name__ == "__main__":
    sys.exit(main())
