//! Installs, users and events for one install day (a cohort).

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::Ctx;
use super::catalog::{
    AGE_VALUE, ANDROID_FARM_DEVICES, ANDROID_VERSIONS, COUNTRIES, FraudKind, IOS_DEVICES,
    IOS_FARM_DEVICES, IOS_VERSIONS, NETWORKS, OBJ_PURCHASES, OBJ_RETENTION, ORGANIC_AGE,
    ORGANIC_QUALITY, Platform,
};
use super::planted::DROP_KEEP;
use super::spend::{DayPlan, fraud_share};
use super::util::{
    MICROS_PER_DAY, MICROS_PER_HOUR, MICROS_PER_SEC, Stream, chance, int_in, lognormal, mix64,
    normal, pick, poisson, rng_for, round2, uniform, user_id_for,
};

pub(crate) const EVENT_NAMES: [&str; 6] = [
    "session_start",
    "tutorial_complete",
    "add_to_cart",
    "purchase",
    "subscription_start",
    "subscription_renewal",
];
const SESSION_START: u8 = 0;
const TUTORIAL_COMPLETE: u8 = 1;
const ADD_TO_CART: u8 = 2;
const PURCHASE: u8 = 3;
const SUBSCRIPTION_START: u8 = 4;
const SUBSCRIPTION_RENEWAL: u8 = 5;

const PRICE_POINTS: [f64; 8] = [0.99, 1.99, 2.99, 4.99, 9.99, 19.99, 49.99, 99.99];
const PRICE_WEIGHTS: [f64; 8] = [0.36, 0.26, 0.10, 0.14, 0.07, 0.04, 0.02, 0.01];

const MAX_SESSIONS_PER_DAY: u64 = 8;

#[derive(Debug, Clone)]
pub(crate) struct Install {
    pub install_id: i64,
    pub user_id: i64,
    /// Campaign and publisher indices into the catalog (None: organic).
    pub campaign: Option<u32>,
    pub publisher: Option<u32>,
    pub click_time: Option<i64>,
    pub install_time: i64,
    pub platform: Platform,
    pub os_version: u8,
    pub device_model: u8,
    pub country: u8,
    pub ip_hash: u64,
    pub wifi: bool,
    pub is_vpn: bool,
    pub device_age_days: i32,
    pub is_fraud: Option<bool>,
    pub age_group: u8,
    /// Ground truth, not written to the installs table.
    pub fraud: Option<FraudKind>,
}

impl Install {
    pub fn os_version_name(&self) -> &'static str {
        match self.platform {
            Platform::Ios => IOS_VERSIONS[usize::from(self.os_version)].0,
            Platform::Android => ANDROID_VERSIONS[usize::from(self.os_version)].0,
        }
    }

    pub fn device_model_name(&self) -> &'static str {
        match self.platform {
            Platform::Ios => IOS_DEVICES[usize::from(self.device_model)].0,
            Platform::Android => super::catalog::ANDROID_DEVICES[usize::from(self.device_model)].0,
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Event {
    pub user_id: i64,
    pub time: i64,
    pub name: u8,
    pub revenue: f64,
    pub session_seconds: Option<i32>,
}

#[derive(Debug, Default)]
pub(crate) struct DayFacts {
    pub installs: Vec<Install>,
    pub events: Vec<Event>,
}

/// Generate the installs of day `day` (numbered from `first_index`) and all
/// later events of those users up to the end of the window.
pub(crate) fn generate_day(ctx: &Ctx, day: i64, plan: &DayPlan, first_index: u64) -> DayFacts {
    let mut rng = rng_for(ctx.seed, Stream::Installs, day as u64);
    let day_start = ctx.first_micros + day * MICROS_PER_DAY;
    let capacity = usize::try_from(plan.installs()).unwrap_or(0);
    let mut installs = Vec::with_capacity(capacity);

    for row in &plan.rows {
        let ci = row.campaign as usize;
        let pi = row.publisher as usize;
        let c = &ctx.catalog.campaigns[ci];
        let p = &ctx.catalog.publishers[pi];
        for _ in 0..row.legit {
            installs.push(make_install(
                &mut rng,
                ctx,
                day,
                day_start,
                Some((ci, pi)),
                None,
            ));
        }
        if row.fraud > 0 {
            let (_, kind) = fraud_share(ctx, c, pi, p, day);
            for _ in 0..row.fraud {
                let kind = kind.unwrap_or_else(|| random_fraud_kind(&mut rng, c.platform));
                installs.push(make_install(
                    &mut rng,
                    ctx,
                    day,
                    day_start,
                    Some((ci, pi)),
                    Some(kind),
                ));
            }
        }
    }
    for _ in 0..plan.organic {
        installs.push(make_install(&mut rng, ctx, day, day_start, None, None));
    }

    installs.sort_by_key(|i| i.install_time);
    for (n, inst) in installs.iter_mut().enumerate() {
        let index = first_index + n as u64;
        inst.install_id = index as i64 + 1;
        inst.user_id = user_id_for(index);
    }

    let mut rng = rng_for(ctx.seed, Stream::Events, day as u64);
    let mut events = Vec::with_capacity(installs.len() * 8);
    let mut scratch = Vec::new();
    for inst in &installs {
        scratch.clear();
        match inst.fraud {
            None => legit_events(&mut rng, ctx, day, inst, &mut scratch),
            Some(kind) => fraud_events(&mut rng, inst, kind, &mut scratch),
        }
        scratch.retain(|e| e.time < ctx.end_bound && e.time >= inst.install_time);
        scratch.sort_by_key(|e| e.time);
        events.extend_from_slice(&scratch);
    }
    DayFacts { installs, events }
}

fn random_fraud_kind(rng: &mut ChaCha8Rng, platform: Platform) -> FraudKind {
    match (platform, rng.random_range(0..3u8)) {
        (Platform::Android, 0) => FraudKind::ClickInjection,
        (_, 1) => FraudKind::InstallFarm,
        _ => FraudKind::VpnBots,
    }
}

fn secs(s: f64) -> i64 {
    (s * MICROS_PER_SEC as f64).round() as i64
}

/// Pooled IP address hash (shared by several installs).
fn pool_ip(seed: u64, tag: u64, a: u64, b: u64) -> u64 {
    mix64(mix64(seed ^ tag.wrapping_mul(0x9E37_79B9_7F4A_7C15)) ^ mix64(a).rotate_left(21) ^ b)
}

fn make_install(
    rng: &mut ChaCha8Rng,
    ctx: &Ctx,
    day: i64,
    day_start: i64,
    source: Option<(usize, usize)>,
    fraud: Option<FraudKind>,
) -> Install {
    let campaign = source.map(|(ci, _)| &ctx.catalog.campaigns[ci]);
    let (country, platform) = match campaign {
        Some(c) => (c.country, c.platform),
        None => {
            let country = pick(rng, &ctx.organic_country_weights);
            let platform = if chance(rng, COUNTRIES[country].ios_share) {
                Platform::Ios
            } else {
                Platform::Android
            };
            (country, platform)
        }
    };
    let cinfo = &COUNTRIES[country];

    // Install time: evening peak in local time; automated fraud runs 24/7.
    let hour = match fraud {
        Some(FraudKind::InstallFarm | FraudKind::VpnBots) => rng.random_range(0..24i64),
        _ => pick(rng, &ctx.hour_weights[country]) as i64,
    };
    let tod = (hour * MICROS_PER_HOUR + rng.random_range(0..MICROS_PER_HOUR)).max(MICROS_PER_SEC);
    let install_time = day_start + tod;

    let ctit_s = source.map(|_| match fraud {
        None => {
            if chance(rng, 0.015) {
                uniform(rng, 2.0, 12.0)
            } else {
                lognormal(rng, 150.0, 1.3)
            }
        }
        Some(FraudKind::ClickInjection) => {
            if chance(rng, 0.85) {
                lognormal(rng, 2.5, 0.7).clamp(0.2, 15.0)
            } else {
                lognormal(rng, 150.0, 1.3)
            }
        }
        Some(FraudKind::InstallFarm) => lognormal(rng, 45.0, 0.6),
        Some(FraudKind::VpnBots) => lognormal(rng, 25.0, 0.9),
    });
    let click_time = ctit_s.map(|s| {
        let mut ctit = secs(s);
        if ctit >= tod {
            // Keep the click on the install day.
            ctit = (tod as f64 * uniform(rng, 0.05, 0.95)) as i64;
        }
        install_time - ctit.max(1)
    });

    let os_version = match platform {
        Platform::Ios => pick(rng, &ctx.ios_version_weights),
        Platform::Android => pick(rng, &ctx.android_version_weights),
    } as u8;
    let farm = fraud == Some(FraudKind::InstallFarm);
    let device_model = match platform {
        Platform::Ios if farm && chance(rng, 0.85) => {
            IOS_FARM_DEVICES[rng.random_range(0..IOS_FARM_DEVICES.len())]
        }
        Platform::Android if farm && chance(rng, 0.85) => {
            ANDROID_FARM_DEVICES[rng.random_range(0..ANDROID_FARM_DEVICES.len())]
        }
        Platform::Ios => pick(rng, &ctx.ios_device_weights),
        Platform::Android => pick(rng, &ctx.android_device_weights[country]),
    } as u8;

    let normal_device_age = |rng: &mut ChaCha8Rng| -> i32 {
        if chance(rng, 0.04) {
            int_in(rng, 0, 30) as i32
        } else {
            lognormal(rng, 450.0, 0.75).clamp(1.0, 3000.0) as i32
        }
    };
    let (device_age_days, wifi, is_vpn) = match fraud {
        None | Some(FraudKind::ClickInjection) => {
            let age = normal_device_age(rng);
            let wifi = chance(rng, cinfo.wifi_rate);
            let vpn_rate = if fraud.is_some() {
                0.08
            } else {
                cinfo.vpn_rate
            };
            (age, wifi, chance(rng, vpn_rate))
        }
        Some(FraudKind::InstallFarm) => {
            let age = if chance(rng, 0.85) {
                int_in(rng, 0, 10) as i32
            } else {
                int_in(rng, 11, 120) as i32
            };
            (age, chance(rng, 0.95), chance(rng, 0.35))
        }
        Some(FraudKind::VpnBots) => {
            let age = if chance(rng, 0.5) {
                int_in(rng, 0, 3) as i32
            } else {
                normal_device_age(rng)
            };
            (age, chance(rng, 0.9), chance(rng, 0.85))
        }
    };

    let week = (day / 7) as u64;
    let publisher_id = source.map_or(0, |(_, pi)| ctx.catalog.publishers[pi].id as u64);
    // Farms and bots reuse a handful of addresses whatever the scale; legit
    // sharing (VPN exits, carrier NAT) keeps a few users per address.
    let ip_hash = match fraud {
        Some(FraudKind::InstallFarm) if chance(rng, 0.6) => {
            pool_ip(ctx.seed, 1, publisher_id, rng.random_range(0..4u64))
        }
        Some(FraudKind::InstallFarm) if chance(rng, 0.5) => {
            let period = (day / 28) as u64;
            pool_ip(
                ctx.seed,
                2,
                publisher_id,
                period * 8 + rng.random_range(0..4u64),
            )
        }
        Some(FraudKind::VpnBots) if chance(rng, 0.7) => {
            pool_ip(ctx.seed, 3, publisher_id, rng.random_range(0..8u64))
        }
        _ if is_vpn && chance(rng, 0.5) => {
            let exits = (5_000.0 * ctx.scale).round().max(1.0) as u64;
            pool_ip(ctx.seed, 4, 0, rng.random_range(0..exits))
        }
        _ if !wifi && chance(rng, 0.15) => {
            let pool = (40.0 * ctx.scale).round().max(1.0) as u64;
            pool_ip(
                ctx.seed,
                5,
                country as u64,
                week * 4_096 + rng.random_range(0..pool),
            )
        }
        _ => rng.random::<u64>(),
    };

    let age_weights = match campaign {
        Some(c) => &NETWORKS[c.network].age,
        None => &ORGANIC_AGE,
    };
    let age_group = pick(rng, age_weights) as u8;

    // Manual review: suspicious installs are looked at more often.
    let suspicious = ctit_s.is_some_and(|s| s < 15.0) || device_age_days < 30 || is_vpn;
    let review_p = match (source, suspicious) {
        (Some(_), true) => 0.52,
        (Some(_), false) => 0.07,
        (None, true) => 0.2,
        (None, false) => 0.04,
    };
    let is_fraud = chance(rng, review_p).then_some(fraud.is_some());

    Install {
        install_id: 0,
        user_id: 0,
        campaign: source.map(|(ci, _)| ci as u32),
        publisher: source.map(|(_, pi)| pi as u32),
        click_time,
        install_time,
        platform,
        os_version,
        device_model,
        country: country as u8,
        ip_hash,
        wifi,
        is_vpn,
        device_age_days,
        is_fraud,
        age_group,
        fraud,
    }
}

fn event(user_id: i64, time: i64, name: u8, revenue: f64, session_seconds: Option<i32>) -> Event {
    Event {
        user_id,
        time,
        name,
        revenue,
        session_seconds,
    }
}

fn fraud_events(rng: &mut ChaCha8Rng, inst: &Install, kind: FraudKind, out: &mut Vec<Event>) {
    let t0 = inst.install_time;
    let uid = inst.user_id;
    let (p_session, median, p_second) = match kind {
        FraudKind::InstallFarm => (0.55, 40.0, 0.1),
        FraudKind::ClickInjection => (0.4, 60.0, 0.1),
        FraudKind::VpnBots => (0.2, 12.0, 0.0),
    };
    if !chance(rng, p_session) {
        return;
    }
    let ts = t0 + secs(uniform(rng, 5.0, 120.0));
    let dur = lognormal(rng, median, 0.6).clamp(3.0, 600.0);
    out.push(event(uid, ts, SESSION_START, 0.0, Some(dur as i32)));
    if chance(rng, 0.03) {
        out.push(event(
            uid,
            ts + secs(dur * 0.8),
            TUTORIAL_COMPLETE,
            0.0,
            None,
        ));
    }
    if chance(rng, p_second) {
        let ts = t0 + secs(uniform(rng, 3_600.0, 30.0 * 3_600.0));
        let dur = lognormal(rng, median, 0.6).clamp(3.0, 600.0);
        out.push(event(uid, ts, SESSION_START, 0.0, Some(dur as i32)));
    }
}

fn legit_events(rng: &mut ChaCha8Rng, ctx: &Ctx, day: i64, inst: &Install, out: &mut Vec<Event>) {
    let t0 = inst.install_time;
    let uid = inst.user_id;
    let country = &COUNTRIES[usize::from(inst.country)];
    let campaign = inst.campaign.map(|ci| &ctx.catalog.campaigns[ci as usize]);
    let network_quality = campaign.map_or(ORGANIC_QUALITY, |c| NETWORKS[c.network].quality);
    let objective = campaign.map(|c| c.objective);
    let ios = inst.platform == Platform::Ios;

    // Per-user propensities.
    let q_ret = country.retention
        * network_quality
        * if ios { 1.08 } else { 0.95 }
        * if objective == Some(OBJ_RETENTION) {
            1.15
        } else {
            1.0
        }
        * lognormal(rng, 1.0, 0.35);
    let q_val = country.value
        * network_quality.powf(1.5)
        * if ios { 1.25 } else { 1.0 }
        * match objective {
            Some(OBJ_PURCHASES) => 1.4,
            Some(OBJ_RETENTION) => 1.05,
            Some(_) => 0.9,
            None => 1.0,
        }
        * AGE_VALUE[usize::from(inst.age_group)];
    let p_churn_day0 = (0.5 / q_ret.powf(0.6)).clamp(0.25, 0.85);
    let lifetime: i64 = if chance(rng, p_churn_day0) {
        0
    } else {
        lognormal(rng, 9.0 * q_ret, 1.4).ceil().min(10_000.0) as i64
    };
    let activity = (0.45 + 0.25 * q_ret.ln() + 0.18 * normal(rng)).clamp(0.05, 0.95);
    let sessions = lognormal(rng, 0.9, 0.5);
    let payer = chance(rng, (0.05 * q_val).min(0.5));
    let whale = lognormal(rng, 1.0, 1.1);
    let subscriber = chance(
        rng,
        0.012
            * country.value.powf(0.7)
            * if ios { 1.6 } else { 0.7 }
            * if objective == Some(OBJ_RETENTION) {
                1.3
            } else {
                1.0
            },
    );
    let tutorial = chance(rng, (0.62 + 0.1 * q_ret.ln()).clamp(0.2, 0.92));
    let sub_price = if country.price >= 0.8 {
        9.99
    } else if country.price >= 0.5 {
        4.99
    } else {
        2.99
    };
    let drop = &ctx.planted.revenue_drop;
    let drop_platform = inst.platform == ctx.planted.drop_platform;

    let mut first_session = true;
    let mut subscribed = false;
    let mut times: Vec<i64> = Vec::with_capacity(MAX_SESSIONS_PER_DAY as usize);
    for k in 0..=lifetime {
        let day_base = t0 + k * MICROS_PER_DAY;
        if day_base >= ctx.end_bound {
            break;
        }
        let x = if lifetime > 0 {
            k as f64 / lifetime as f64
        } else {
            0.0
        };
        // Engagement fades as the user approaches churn.
        let shape = 1.0 - 0.75 * x * x;
        let weekend = ctx.weekday(day + k) >= 5;
        // Curiosity in the first days after install, then habit.
        let early = 1.0 + 0.5 * (-(k as f64 - 1.0) / 3.0).exp();
        let p_active = (activity * shape * early * if weekend { 1.1 } else { 1.0 }).min(0.97);
        if k > 0 && !chance(rng, p_active) {
            continue;
        }
        let n = if k == 0 {
            1 + poisson(rng, 0.5 * sessions)
        } else {
            1 + poisson(rng, sessions * (1.0 - 0.6 * x))
        }
        .min(MAX_SESSIONS_PER_DAY);
        times.clear();
        for j in 0..n {
            let t = if k == 0 {
                if j == 0 {
                    t0 + secs(uniform(rng, 2.0, 90.0))
                } else {
                    t0 + secs(uniform(rng, 1_800.0, 20.0 * 3_600.0))
                }
            } else {
                // Users keep roughly the hour at which they installed.
                let jitter = (normal(rng) * 2.5).clamp(-10.0, 10.0);
                day_base + secs(jitter * 3_600.0)
            };
            times.push(t);
        }
        times.sort_unstable();
        for &ts in &times {
            if ts >= ctx.end_bound {
                break;
            }
            let dur = lognormal(rng, 180.0 * (0.6 + 0.4 * shape), 0.85).clamp(8.0, 3_600.0);
            out.push(event(uid, ts, SESSION_START, 0.0, Some(dur as i32)));
            if first_session && tutorial {
                let at = (uniform(rng, 0.3, 0.95) * dur).max(20.0);
                out.push(event(uid, ts + secs(at), TUTORIAL_COMPLETE, 0.0, None));
            }
            first_session = false;

            if payer && chance(rng, (0.2 * whale).min(0.7)) {
                let cart = ts + secs(uniform(rng, 0.1, 0.6) * dur);
                let buy = cart + secs(uniform(rng, 5.0, 90.0));
                let buy_day = (buy - ctx.first_micros).div_euclid(MICROS_PER_DAY);
                let failed = drop_platform && drop.contains(buy_day) && !chance(rng, DROP_KEEP);
                if failed || chance(rng, 0.75) {
                    out.push(event(uid, cart, ADD_TO_CART, 0.0, None));
                }
                if !failed {
                    let mut weights = PRICE_WEIGHTS;
                    for (i, w) in weights.iter_mut().enumerate() {
                        *w *= whale.powf((i as f64 - 3.0) * 0.25);
                    }
                    let point = PRICE_POINTS[pick(rng, &weights)];
                    let amount = round2(point * country.price).max(0.01);
                    out.push(event(uid, buy, PURCHASE, amount, None));
                }
            } else if chance(rng, if payer { 0.06 } else { 0.025 }) {
                let cart = ts + secs(uniform(rng, 0.1, 0.8) * dur);
                out.push(event(uid, cart, ADD_TO_CART, 0.0, None));
            }

            if subscriber && !subscribed && k <= 14 && chance(rng, 0.35) {
                subscribed = true;
                let start = ts + secs(uniform(rng, 0.2, 0.9) * dur);
                out.push(event(uid, start, SUBSCRIPTION_START, sub_price, None));
                let mut month = 1;
                loop {
                    let renewal = start + month * 30 * MICROS_PER_DAY;
                    if renewal >= ctx.end_bound {
                        break;
                    }
                    let churned = (renewal - t0) / MICROS_PER_DAY > lifetime;
                    if !chance(rng, if churned { 0.55 } else { 0.82 }) {
                        break;
                    }
                    out.push(event(uid, renewal, SUBSCRIPTION_RENEWAL, sub_price, None));
                    month += 1;
                }
            }
        }
    }
}
