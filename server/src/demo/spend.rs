//! Daily delivery plan: one `ad_spend` row per (day, campaign, publisher)
//! while the campaign runs, with the number of (legit and fraudulent) paid
//! installs it produces, plus the number of organic installs per day.

use rayon::prelude::*;

use super::Ctx;
use super::catalog::{
    BASELINE_FRAUD_SHARE, COUNTRIES, Campaign, FORMAT_CTR, FraudKind, NETWORKS, Platform, Publisher,
};
use super::planted::{
    BURST_SHARE, SPEND_SPIKE_INSTALL_MULT, SPEND_SPIKE_MULT, SPIKE_INSTALL_MULT, SPIKE_SPEND_MULT,
};
use super::util::{Stream, lognormal, poisson, rng_for, round2};

/// Installs at scale 1.
pub(crate) const INSTALLS_PER_SCALE: f64 = 1_000_000.0;
/// Target share of organic installs.
const ORGANIC_SHARE: f64 = 0.30;
/// Target share of legit paid installs (fraud adds roughly the remainder).
const PAID_LEGIT_SHARE: f64 = 0.68;

/// Install volume by weekday (Monday first): games get more on weekends.
pub(crate) const DOW_INSTALLS: [f64; 7] = [0.95, 0.93, 0.95, 0.98, 1.03, 1.12, 1.10];
const DOW_ORGANIC: [f64; 7] = [0.93, 0.92, 0.94, 0.97, 1.03, 1.15, 1.13];
/// Weekend inventory is cheaper per install.
const DOW_CPI: [f64; 7] = [1.02, 1.0, 1.0, 1.0, 0.99, 0.94, 0.95];
const ANDROID_CPI: f64 = 0.72;

#[derive(Debug, Clone)]
pub(crate) struct SpendRow {
    pub campaign: u32,
    pub publisher: u32,
    pub impressions: i64,
    pub clicks: i64,
    pub spend: f64,
    pub legit: u32,
    pub fraud: u32,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct DayPlan {
    pub rows: Vec<SpendRow>,
    pub organic: u32,
}

impl DayPlan {
    pub fn installs(&self) -> u64 {
        let paid: u64 = self
            .rows
            .iter()
            .map(|r| u64::from(r.legit) + u64::from(r.fraud))
            .sum();
        paid + u64::from(self.organic)
    }
}

struct RawDay {
    /// (campaign, publisher, relative expected installs)
    rows: Vec<(u32, u32, f64)>,
    organic: f64,
}

pub(crate) struct SpendPlan {
    pub days: Vec<DayPlan>,
    /// Daily budget per campaign (same order as the catalog).
    pub budgets: Vec<f64>,
}

fn trend(ctx: &Ctx, day: i64) -> f64 {
    if ctx.days < 2 {
        1.0
    } else {
        0.85 + 0.3 * day as f64 / f64::from(ctx.days - 1)
    }
}

fn life(c: &Campaign, day: i64, days: i64) -> f64 {
    let since_start = day - c.start_idx;
    let ramp = if since_start < 5 {
        0.35 + 0.13 * since_start as f64
    } else {
        1.0
    };
    let wind_down = if c.end_idx < days - 1 && c.end_idx - day < 3 {
        0.75
    } else {
        1.0
    };
    let drift = (c.drift_amp
        * (std::f64::consts::TAU * day as f64 / c.drift_period + c.drift_phase).sin())
    .exp();
    ramp * wind_down * drift
}

/// Fraud share of a row's paid installs and the kind of fraud, if the
/// publisher is a fraudulent one.
pub(crate) fn fraud_share(
    ctx: &Ctx,
    campaign: &Campaign,
    publisher_idx: usize,
    publisher: &Publisher,
    day: i64,
) -> (f64, Option<FraudKind>) {
    let android = campaign.platform == Platform::Android;
    if publisher_idx == ctx.planted.burst_publisher
        && android
        && ctx.planted.fraud_burst.contains(day)
    {
        return (BURST_SHARE, Some(FraudKind::ClickInjection));
    }
    match publisher.fraud {
        // Click injection abuses Android install broadcasts.
        Some(f) if f.kind != FraudKind::ClickInjection || android => (f.share, Some(f.kind)),
        _ => (BASELINE_FRAUD_SHARE, None),
    }
}

pub(crate) fn plan(ctx: &Ctx) -> SpendPlan {
    let days = i64::from(ctx.days);
    let cat = &ctx.catalog;
    let planted = &ctx.planted;

    // Pass 1: relative volumes, so the totals can be calibrated to the scale.
    let raw: Vec<RawDay> = (0..days)
        .into_par_iter()
        .map(|day| {
            let mut rng = rng_for(ctx.seed, Stream::SpendRaw, day as u64);
            let dow = ctx.weekday(day);
            let t = trend(ctx, day);
            let mut rows = Vec::new();
            for (ci, c) in cat.campaigns.iter().enumerate() {
                if !c.active_on(day) {
                    continue;
                }
                let mut event = 1.0;
                if c.network == planted.spike_network
                    && c.country == planted.spike_country
                    && planted.install_spike.contains(day)
                {
                    event *= SPIKE_INSTALL_MULT;
                }
                if ci == planted.spend_spike_campaign && planted.spend_spike.contains(day) {
                    event *= SPEND_SPIKE_INSTALL_MULT;
                }
                let base = c.weight * DOW_INSTALLS[dow] * t * life(c, day, days) * event;
                for &(pi, share) in &c.publishers {
                    let v = base * share * lognormal(&mut rng, 1.0, 0.2);
                    rows.push((ci as u32, pi as u32, v));
                }
            }
            let organic = DOW_ORGANIC[dow] * t * lognormal(&mut rng, 1.0, 0.08);
            RawDay { rows, organic }
        })
        .collect();

    // Sequential sums: the result must not depend on the thread count.
    let mut paid_sum = 0.0;
    let mut organic_sum = 0.0;
    for d in &raw {
        paid_sum += d.rows.iter().map(|r| r.2).sum::<f64>();
        organic_sum += d.organic;
    }
    let total = ctx.scale * INSTALLS_PER_SCALE * f64::from(ctx.days) / 180.0;
    let k_paid = if paid_sum > 0.0 {
        total * PAID_LEGIT_SHARE / paid_sum
    } else {
        0.0
    };
    let k_organic = if organic_sum > 0.0 {
        total * ORGANIC_SHARE / organic_sum
    } else {
        0.0
    };

    // Pass 2: sample installs, clicks, impressions and spend.
    let day_plans: Vec<DayPlan> = raw
        .par_iter()
        .enumerate()
        .map(|(day, raw_day)| {
            let day = day as i64;
            let mut rng = rng_for(ctx.seed, Stream::Spend, day as u64);
            let dow = ctx.weekday(day);
            let mut rows = Vec::with_capacity(raw_day.rows.len());
            for &(ci, pi, v) in &raw_day.rows {
                let c = &cat.campaigns[ci as usize];
                let p = &cat.publishers[pi as usize];
                let net = &NETWORKS[c.network];
                let lambda = k_paid * v;
                let (share, kind) = fraud_share(ctx, c, pi as usize, p, day);
                let lambda_fraud = lambda * share / (1.0 - share);
                let legit = poisson(&mut rng, lambda) as u32;
                let fraud = poisson(&mut rng, lambda_fraud) as u32;
                let installs = i64::from(legit) + i64::from(fraud);

                let mut cpi = base_cpi(c, p) * DOW_CPI[dow] * lognormal(&mut rng, 1.0, 0.12);
                if c.network == ctx.planted.spike_network
                    && c.country == ctx.planted.spike_country
                    && ctx.planted.install_spike.contains(day)
                {
                    cpi *= SPIKE_SPEND_MULT / SPIKE_INSTALL_MULT;
                }
                if ci as usize == ctx.planted.spend_spike_campaign
                    && ctx.planted.spend_spike.contains(day)
                {
                    cpi *= SPEND_SPIKE_MULT / SPEND_SPIKE_INSTALL_MULT;
                }
                let spend = round2((lambda + lambda_fraud) * cpi).max(0.01);

                let ios = c.platform == Platform::Ios;
                let cvr = net.cvr * lognormal(&mut rng, 1.0, 0.15) * if ios { 0.9 } else { 1.0 };
                let mut clicks_expected = (lambda + lambda_fraud) / cvr.min(0.95);
                if kind == Some(FraudKind::ClickInjection) {
                    // Click spam accompanies injected clicks.
                    clicks_expected += 3.0 * lambda_fraud;
                }
                let clicks = (poisson(&mut rng, clicks_expected) as i64).max(installs);
                let ctr = net.ctr * FORMAT_CTR[c.format] * lognormal(&mut rng, 1.0, 0.15);
                let impressions = (poisson(&mut rng, clicks_expected / ctr.min(0.5)) as i64)
                    .max(clicks)
                    .max(1);
                rows.push(SpendRow {
                    campaign: ci,
                    publisher: pi,
                    impressions,
                    clicks,
                    spend,
                    legit,
                    fraud,
                });
            }
            let organic = poisson(&mut rng, k_organic * raw_day.organic) as u32;
            DayPlan { rows, organic }
        })
        .collect();

    let budgets = cat
        .campaigns
        .iter()
        .map(|c| {
            let cpi: f64 = c
                .publishers
                .iter()
                .map(|&(pi, share)| share * base_cpi(c, &cat.publishers[pi]))
                .sum();
            round2(k_paid * c.weight * cpi * c.budget_headroom).max(1.0)
        })
        .collect();

    SpendPlan {
        days: day_plans,
        budgets,
    }
}

fn base_cpi(c: &Campaign, p: &Publisher) -> f64 {
    let platform = match c.platform {
        Platform::Ios => 1.0,
        Platform::Android => ANDROID_CPI,
    };
    COUNTRIES[c.country].cpi * platform * NETWORKS[c.network].cpi * p.cpi_factor * c.cpi_factor
}
