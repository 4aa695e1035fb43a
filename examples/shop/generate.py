#!/usr/bin/env python3
"""Generate the `shop` example warehouse: an online shop selling in EUR.

Usage: generate.py --out DIR [--seed 42]

Writes DIR/<table>/part-0.parquet for customers, products, promotions,
orders, order_items and marketing_spend, plus DIR/manifest.json. The data is
deterministic for a given seed (one random.Random, no wall clock) and covers
2026-06-01 to the as-of date 2026-11-30 inclusive. The contract is in
README.md next to this file; keep the two in step.
"""
import argparse
import csv
import json
import math
import os
import random
import shutil
import sys
import tempfile
import time
from datetime import date, datetime, timedelta

import duckdb

DOMAIN = "shop"
START = date(2026, 6, 1)
AS_OF = date(2026, 11, 30)
DAYS = (AS_OF - START).days + 1  # 183
PRICE_CHANGE_DAY = date(2026, 9, 1)
# The shop opened on LAUNCH; customers who signed up before START placed their
# first order before START, so the warehouse holds only their repeat orders.
LAUNCH = date(2024, 9, 2)
EXISTING_CUSTOMERS = 8000
EXISTING_ACTIVE = 0.70  # share of existing customers still ordering at all

# --- reference data ------------------------------------------------------------

# code, share of customers, standard shipping fee (EUR), marketplace live
COUNTRIES = [
    ("DE", 0.30, 4.95, True),
    ("FR", 0.17, 5.95, True),
    ("NL", 0.11, 4.95, True),
    ("IT", 0.11, 6.95, True),
    ("ES", 0.10, 6.95, True),
    ("BE", 0.08, 5.95, False),
    ("AT", 0.08, 5.95, False),
    ("PL", 0.05, 7.95, False),
]
FREE_SHIPPING_FROM = 49.00  # merchandise after discount, web and app orders

# acquisition channel: base daily signups (before growth and day factors),
# cost per acquired customer (EUR; None = not paid), repeat-order multiplier,
# basket adjustment, promotion-usage multiplier
CHANNELS = {
    "paid_search": (12.4, 46.0, 1.00, 0.00, 1.0),
    "social":      (10.3, 72.0, 0.70, -0.04, 1.1),
    "affiliate":   (5.0, 24.0, 0.80, -0.07, 1.5),
    "email":       (3.3, None, 1.45, 0.05, 1.2),
    "direct":      (10.3, None, 1.20, 0.03, 0.8),
}
PAID_CHANNELS = ["paid_search", "social", "affiliate", "email"]  # marketing_spend rows
EMAIL_DAILY_COST = 55.0  # email platform and newsletter production, per day (before growth)
CPC = {"paid_search": 0.62, "social": 0.41, "affiliate": 0.33, "email": 0.015}

# category: products, price range, cost ratio, demand weight, nouns, brands
CATEGORIES = [
    ("Apparel", 70, 15, 95, 0.42, 3.2,
     ["T-Shirt", "Hoodie", "Chinos", "Denim Jacket", "Knit Sweater", "Summer Dress",
      "Rain Jacket", "Polo Shirt", "Linen Shirt", "Wool Coat", "Leggings", "Joggers",
      "Cardigan", "Puffer Vest"],
     ["Lindqvist", "Maison Arlo", "Urban Fjord", "Nordlys"]),
    ("Footwear", 40, 39, 165, 0.50, 1.7,
     ["Sneaker", "Running Shoe", "Chelsea Boot", "Loafer", "Sandal", "Hiking Boot",
      "Slip-On", "Ankle Boot"],
     ["Kestrel", "Alpenrot", "Urban Fjord"]),
    ("Electronics", 35, 25, 449, 0.76, 1.1,
     ["Wireless Earbuds", "Bluetooth Speaker", "Smartwatch", "Power Bank", "E-Reader",
      "Headphones", "Fitness Tracker", "USB-C Charger", "Action Camera"],
     ["Voltix", "Helio", "Solara"]),
    ("Home & Kitchen", 50, 9, 149, 0.55, 1.0,
     ["Chef's Knife", "Cast Iron Pan", "French Press", "Linen Bedding Set", "Table Lamp",
      "Storage Baskets", "Bath Towel Set", "Ceramic Mug Set", "Throw Blanket", "Cutting Board"],
     ["Casa Mira", "Kuchenwerk", "Verde Home"]),
    ("Beauty", 40, 6, 59, 0.34, 1.2,
     ["Face Serum", "Moisturiser", "Lip Balm", "Shampoo", "Body Lotion", "Eau de Parfum",
      "Sun Cream", "Hand Cream", "Cleansing Gel"],
     ["Lumiere Skin", "Botanica Lab"]),
    ("Sports & Outdoors", 30, 15, 199, 0.55, 0.55,
     ["Yoga Mat", "Trail Backpack", "Water Bottle", "Resistance Bands", "Tent",
      "Cycling Gloves", "Trekking Poles", "Sleeping Bag"],
     ["Pace & Peak", "Trailhund", "Alpenrot"]),
    ("Toys & Games", 20, 9, 79, 0.50, 0.40,
     ["Building Set", "Board Game", "Puzzle", "Plush Toy", "Wooden Train", "Card Game"],
     ["Blokko", "Little Otter"]),
    ("Books", 15, 8, 35, 0.68, 0.28,
     ["Cookbook", "Travel Guide", "Novel", "Picture Book", "Notebook Set"],
     ["Papierhaus", "Seitenweise"]),
]
ADJECTIVES = ["Classic", "Essential", "Premium", "Everyday", "Heritage", "Urban", "Pro",
              "Lite", "Organic", "Signature", "Studio", "Nordic", "Weekend", "Original"]
RETURN_PRONE = {"Apparel", "Footwear"}

# promotion_id, name, start, end, discount %, demand factor on its days, usage share,
# eligibility: "all" | "first_order" | "loyalty" | "email"
PROMOTIONS = [
    (1, "Welcome 10", date(2026, 6, 1), date(2026, 12, 31), 10.0, 1.00, 0.45, "first_order"),
    (2, "Summer Sale", date(2026, 6, 19), date(2026, 7, 5), 20.0, 1.25, 0.35, "all"),
    (3, "Midsummer Flash Sale", date(2026, 7, 17), date(2026, 7, 19), 25.0, 1.50, 0.45, "all"),
    (4, "Back to School", date(2026, 8, 24), date(2026, 9, 6), 15.0, 1.15, 0.25, "all"),
    (5, "Newsletter Exclusive", date(2026, 9, 10), date(2026, 9, 12), 15.0, 1.05, 0.40, "email"),
    (6, "Autumn Style Week", date(2026, 9, 28), date(2026, 10, 4), 15.0, 1.10, 0.22, "all"),
    (7, "Loyalty Members' Evening", date(2026, 10, 15), date(2026, 10, 15), 20.0, 1.20, 0.50, "loyalty"),
    (8, "Singles Day", date(2026, 11, 11), date(2026, 11, 11), 22.0, 1.60, 0.40, "all"),
    (9, "Winter Warm-Up", date(2026, 11, 16), date(2026, 12, 13), 10.0, 1.05, 0.15, "all"),
    (10, "Black Friday Week", date(2026, 11, 23), date(2026, 11, 29), 25.0, 1.80, 0.50, "all"),
    (11, "Cyber Monday", date(2026, 11, 30), date(2026, 11, 30), 30.0, 2.00, 0.55, "all"),
    (12, "Advent Calendar Deals", date(2026, 12, 1), date(2026, 12, 24), 15.0, 1.00, 0.0, "all"),
    (13, "New Year Clearance", date(2027, 1, 2), date(2027, 1, 15), 30.0, 1.00, 0.0, "all"),
]

# Monday .. Sunday: orders and signups peak at the weekend
WEEKDAY = [0.92, 0.88, 0.90, 0.95, 1.05, 1.30, 1.38]
SPEND_WEEKDAY = [0.97, 0.95, 0.96, 0.98, 1.03, 1.06, 1.05]
HOURS = [0.4, 0.25, 0.15, 0.1, 0.1, 0.2, 0.5, 1.0, 1.5, 1.8, 2.0, 2.3,
         2.7, 2.5, 2.2, 2.1, 2.2, 2.5, 3.0, 3.5, 3.9, 3.6, 2.6, 1.2]
HOUR_CUM = []
_acc = 0.0
for _h in HOURS:
    _acc += _h
    HOUR_CUM.append(_acc)


def growth(day_index: int) -> float:
    """Linear growth: new-customer demand on the as-of day is 1.8 times that of 1 June."""
    return 1.0 + 0.8 * day_index / (DAYS - 1)


def promo_demand(d: date) -> float:
    f = 1.0
    for p in PROMOTIONS:
        if p[2] <= d <= p[3]:
            f = max(f, p[5])
    return f


def day_factor(d: date) -> float:
    return WEEKDAY[d.weekday()] * promo_demand(d)


def poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam > 60:
        return max(0, int(round(rng.gauss(lam, math.sqrt(lam)))))
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def price99(x: float) -> float:
    """Round a price to a .99 ending (at least 4.99)."""
    return max(4.99, math.floor(x) + 0.99 if x >= 5 else 4.99)


# --- writing ---------------------------------------------------------------------

def fmt(v):
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, datetime):
        return v.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(v, date):
        return v.isoformat()
    return v


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

def make_products(rng):
    products = []  # dicts
    used = set()
    for cat, n, lo, hi, cost_ratio, weight, nouns, brands in CATEGORIES:
        raw = []
        for _ in range(n):
            brand = rng.choice(brands)
            for _attempt in range(50):
                name = f"{brand} {rng.choice(ADJECTIVES)} {rng.choice(nouns)}"
                if name not in used:
                    break
            else:
                name = f"{name} {len(used)}"
            used.add(name)
            # log-uniform price inside the category's range
            price = price99(math.exp(rng.uniform(math.log(lo), math.log(hi))))
            cost = round(price * cost_ratio * rng.uniform(0.85, 1.15), 2)
            popularity = rng.lognormvariate(0, 0.9)
            raw.append([cat, brand, name, price, cost, popularity])
        total = sum(r[5] for r in raw)
        for r in raw:
            r[5] = weight * r[5] / total
        products.extend(raw)
    rng.shuffle(products)
    out = []
    for i, (cat, brand, name, price, cost, pop) in enumerate(products, start=1):
        # 15% of products changed price on PRICE_CHANGE_DAY; list_price is the current one
        old_price = price
        if rng.random() < 0.15:
            old_price = price99(price / rng.choice([1.05, 1.10, 0.90]))
        out.append({
            "product_id": i, "product_name": name, "category": cat, "brand": brand,
            "list_price": price, "price_before_change": old_price, "unit_cost": cost,
            "popularity": pop,
        })
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="warehouse directory to write")
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args()
    t0 = time.monotonic()
    rng = random.Random(args.seed)
    out = args.out
    os.makedirs(out, exist_ok=True)

    days = [START + timedelta(days=i) for i in range(DAYS)]

    # products
    products = make_products(rng)
    prod_cum = []
    acc = 0.0
    for p in products:
        acc += p["popularity"]
        prod_cum.append(acc)

    # customers who signed up between LAUNCH and the day before START,
    # more of them recently
    signups = []  # (signup_date, channel)
    span = (START - LAUNCH).days
    ch_names = list(CHANNELS)
    ch_w = [CHANNELS[c][0] for c in ch_names]
    for _ in range(EXISTING_CUSTOMERS):
        d = LAUNCH + timedelta(days=min(span - 1, int(span * math.sqrt(rng.random()))))
        signups.append((d, rng.choices(ch_names, weights=ch_w)[0]))
    signups.sort()

    # marketing spend and new signups, day by day
    spend_rows = []
    for i, d in enumerate(days):
        g = growth(i)
        f = day_factor(d)
        for ch, (base, cac, _rep, _bask, _promo) in CHANNELS.items():
            lam = base * g * f * rng.uniform(0.9, 1.1)
            n = poisson(rng, lam)
            signups.extend((d, ch) for _ in range(n))
            if ch == "direct":
                continue
            if cac is not None:
                c = cac
                if ch == "social" and d >= date(2026, 11, 1):
                    c *= 1.25  # Q4 auction pressure on social
                spend = lam * c * SPEND_WEEKDAY[d.weekday()] / WEEKDAY[d.weekday()] * rng.uniform(0.92, 1.08)
                # spend follows the expected signups, with a milder weekly shape
            else:
                spend = EMAIL_DAILY_COST * g * rng.uniform(0.7, 1.3)
                if f > 1.2:
                    spend *= 2.5  # campaign mail-outs on sale days
            clicks = int(round(spend / (CPC[ch] * rng.uniform(0.85, 1.15))))
            spend_rows.append((d, ch, round(spend, 2), clicks))

    # customers
    country_codes = [c[0] for c in COUNTRIES]
    country_w = [c[1] for c in COUNTRIES]
    country_info = {c[0]: c for c in COUNTRIES}
    customers = []
    for cid, (sd, ch) in enumerate(signups, start=1):
        country = rng.choices(country_codes, weights=country_w)[0]
        if rng.random() < 0.09:
            birth_year = None
        else:
            age = int(min(80, max(18, rng.gauss(37, 12))))
            birth_year = 2026 - age
        enrolled = rng.random() < 0.60
        market = country_info[country][3]
        if market:
            pref = rng.choices(["web", "app", "marketplace"], weights=[0.52, 0.30, 0.18])[0]
        else:
            pref = rng.choices(["web", "app"], weights=[0.62, 0.38])[0]
        rate = 0.026 * CHANNELS[ch][2] * rng.gammavariate(0.7, 1 / 0.7)
        existing = sd < START
        if existing and rng.random() > EXISTING_ACTIVE:
            rate = 0.0  # lapsed: no orders in the period
        customers.append({
            "existing": existing,
            "customer_id": cid, "signup_date": sd, "country": country, "channel": ch,
            "birth_year": birth_year, "enrolled": enrolled, "pref": pref, "rate": rate,
        })

    # order dates per customer: a first order near signup, then repeat orders
    day_index = {d: i for i, d in enumerate(days)}
    factors = [day_factor(d) for d in days]
    max_f = max(factors)
    raw_orders = []  # (datetime, customer)
    for c in customers:
        if c["existing"]:
            # first order placed before START; only repeat orders are in the data
            order_days = []
            t = 0.0
        else:
            if rng.random() < 0.12:
                continue  # signed up, never ordered
            si = day_index[c["signup_date"]]
            if rng.random() < 0.70:
                fi = si
            else:
                fi = si + 1 + int(rng.expovariate(1 / 5.0))
            if fi >= DAYS:
                continue
            order_days = [fi]
            t = float(fi) + 1.0
        lam = c["rate"] * max_f
        while lam > 0:
            t += rng.expovariate(lam)
            di = int(t)
            if di >= DAYS:
                break
            if rng.random() < factors[di] * growth(di) ** 0.25 / (max_f * growth(DAYS - 1) ** 0.25):
                order_days.append(di)
        for di in order_days:
            hour = rng.choices(range(24), cum_weights=HOUR_CUM)[0]
            ts = datetime.combine(days[di], datetime.min.time()) + timedelta(
                hours=hour, minutes=rng.randrange(60), seconds=rng.randrange(60))
            raw_orders.append((ts, c["customer_id"]))
    raw_orders.sort()

    # orders and their lines
    first_seen = {c["customer_id"] for c in customers if c["existing"]}
    order_rows, item_rows = [], []
    delivered_spend = {}
    promos_by_discount = sorted(PROMOTIONS, key=lambda p: -p[4])
    for n, (ts, cid) in enumerate(raw_orders):
        order_id = 100001 + n
        c = customers[cid - 1]
        ch = c["channel"]
        is_first = cid not in first_seen
        first_seen.add(cid)
        d = ts.date()
        # sales channel and device
        if rng.random() < 0.75:
            sales = c["pref"]
        elif country_info[c["country"]][3]:
            sales = rng.choices(["web", "app", "marketplace"], weights=[0.52, 0.30, 0.18])[0]
        else:
            sales = rng.choices(["web", "app"], weights=[0.62, 0.38])[0]
        if sales == "web":
            device = rng.choices(["desktop", "mobile", "tablet"], weights=[0.55, 0.38, 0.07])[0]
        elif sales == "app":
            device = rng.choices(["mobile", "tablet"], weights=[0.88, 0.12])[0]
        else:
            device = "unknown"
        # basket
        p_more = {"web": 0.58, "app": 0.64, "marketplace": 0.35}[sales] + CHANNELS[ch][3]
        n_lines = 1
        while n_lines < 10 and rng.random() < p_more:
            n_lines += 1
        chosen = []
        while len(chosen) < n_lines:
            p = products[rng.choices(range(len(products)), cum_weights=prod_cum)[0]]
            if p not in chosen:
                chosen.append(p)
        subtotal = 0.0
        return_prone = False
        lines = []
        for ln, p in enumerate(chosen, start=1):
            if p["category"] in ("Beauty", "Books", "Home & Kitchen"):
                qty = rng.choices([1, 2, 3, 4], weights=[0.72, 0.19, 0.06, 0.03])[0]
            else:
                qty = rng.choices([1, 2, 3], weights=[0.88, 0.09, 0.03])[0]
            price = p["list_price"] if d >= PRICE_CHANGE_DAY else p["price_before_change"]
            lines.append((order_id, ln, p["product_id"], qty, price))
            subtotal += qty * price
            return_prone = return_prone or p["category"] in RETURN_PRONE
        subtotal = round(subtotal, 2)
        # promotion: web and app only; the highest discount the order qualifies for
        promo_id, discount = None, 0.0
        if sales != "marketplace":
            mult = CHANNELS[ch][4]
            for p in promos_by_discount:
                pid, _name, ps, pe, pct, _dem, use, elig = p
                if not (ps <= d <= pe) or use <= 0:
                    continue
                if elig == "first_order" and not is_first:
                    continue
                if elig == "loyalty" and not c["enrolled"]:
                    continue
                if elig == "email" and ch != "email":
                    continue
                if rng.random() < min(0.9, use * mult):
                    promo_id = pid
                    discount = round(subtotal * pct / 100.0, 2)
                    break
        if sales == "marketplace":
            shipping = 0.0
        elif subtotal - discount >= FREE_SHIPPING_FROM:
            shipping = 0.0
        else:
            shipping = country_info[c["country"]][2]
        # status relative to the as-of date
        age = (AS_OF - d).days
        u = rng.random()
        if u < (0.065 if sales == "marketplace" else 0.048):
            status = "cancelled"
        elif age == 0:
            status = "processing"
        elif age == 1:
            status = "processing" if rng.random() < 0.45 else "shipped"
        elif age <= 5:
            status = "delivered" if rng.random() < {2: 0.10, 3: 0.40, 4: 0.70, 5: 0.90}[age] else "shipped"
        else:
            status = "delivered"
        if status == "delivered" and age >= 7:
            p_ret = (0.107 if return_prone else 0.032) * min(1.0, (age - 6) / 15.0)
            if sales == "marketplace":
                p_ret *= 1.2
            if rng.random() < p_ret:
                status = "returned"
        if status == "delivered":
            delivered_spend[cid] = delivered_spend.get(cid, 0.0) + subtotal - discount
        order_rows.append((order_id, cid, ts, status, sales, device, promo_id,
                           shipping, discount, is_first))
        item_rows.extend(lines)

    def tier(c):
        if not c["enrolled"]:
            return "none"
        s = delivered_spend.get(c["customer_id"], 0.0)
        if s >= 750:
            return "platinum"
        if s >= 350:
            return "gold"
        if s >= 150:
            return "silver"
        return "bronze"

    def age_band(by):
        if by is None:
            return "unknown"
        a = 2026 - by
        for lo, hi, label in [(18, 24, "18-24"), (25, 34, "25-34"), (35, 44, "35-44"),
                              (45, 54, "45-54"), (55, 64, "55-64")]:
            if lo <= a <= hi:
                return label
        return "65+"

    customer_rows = [
        (c["customer_id"], c["signup_date"], c["country"], c["channel"], tier(c),
         c["birth_year"], age_band(c["birth_year"]))
        for c in customers
    ]
    product_rows = [
        (p["product_id"], p["product_name"], p["category"], p["brand"], p["list_price"],
         p["unit_cost"])
        for p in products
    ]

    def promo_status(s, e):
        if e < AS_OF:
            return "ended"
        if s > AS_OF:
            return "scheduled"
        return "running"

    promotion_rows = [
        (p[0], p[1], p[2], p[3], promo_status(p[2], p[3]), p[4],
         {"all": "all_customers", "first_order": "first_order", "loyalty": "loyalty_members",
          "email": "newsletter_subscribers"}[p[7]])
        for p in PROMOTIONS
    ]

    con = duckdb.connect()
    con.execute("SET threads = 2")
    counts = {}
    with tempfile.TemporaryDirectory(prefix="quarry-shop-") as tmp:
        counts["customers"] = write_table(con, tmp, out, "customers", [
            ("customer_id", "BIGINT"), ("signup_date", "DATE"), ("country", "VARCHAR"),
            ("acquisition_channel", "VARCHAR"), ("loyalty_tier", "VARCHAR"),
            ("birth_year", "BIGINT"), ("age_band", "VARCHAR")], customer_rows, "customer_id")
        counts["products"] = write_table(con, tmp, out, "products", [
            ("product_id", "BIGINT"), ("product_name", "VARCHAR"), ("category", "VARCHAR"),
            ("brand", "VARCHAR"), ("list_price", "DOUBLE"), ("unit_cost", "DOUBLE")],
            product_rows, "product_id")
        counts["promotions"] = write_table(con, tmp, out, "promotions", [
            ("promotion_id", "BIGINT"), ("promotion_name", "VARCHAR"), ("start_date", "DATE"),
            ("end_date", "DATE"), ("status", "VARCHAR"), ("discount_pct", "DOUBLE"),
            ("eligibility", "VARCHAR")], promotion_rows, "promotion_id")
        counts["orders"] = write_table(con, tmp, out, "orders", [
            ("order_id", "BIGINT"), ("customer_id", "BIGINT"), ("order_time", "TIMESTAMP"),
            ("status", "VARCHAR"), ("sales_channel", "VARCHAR"), ("device", "VARCHAR"),
            ("promotion_id", "BIGINT"), ("shipping_fee", "DOUBLE"),
            ("discount_amount", "DOUBLE"), ("is_first_order", "BOOLEAN")], order_rows, "order_id")
        counts["order_items"] = write_table(con, tmp, out, "order_items", [
            ("order_id", "BIGINT"), ("line_number", "BIGINT"), ("product_id", "BIGINT"),
            ("quantity", "BIGINT"), ("unit_price", "DOUBLE")], item_rows,
            "order_id, line_number")
        counts["marketing_spend"] = write_table(con, tmp, out, "marketing_spend", [
            ("date", "DATE"), ("channel", "VARCHAR"), ("spend", "DOUBLE"),
            ("clicks", "BIGINT")], spend_rows, "date, channel")
    con.close()

    manifest = {"domain": DOMAIN, "seed": args.seed, "as_of": AS_OF.isoformat(),
                "tables": counts}
    with open(os.path.join(out, "manifest.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    summary = ", ".join(f"{k} {v}" for k, v in counts.items())
    print(f"shop: {len(counts)} tables ({summary}), as of {AS_OF}, "
          f"seed {args.seed}, {time.monotonic() - t0:.1f}s -> {out}")


if __name__ == "__main__":
    sys.exit(main())
