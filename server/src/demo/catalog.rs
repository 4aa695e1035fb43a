//! Reference data (countries, networks, devices) and the small dimension
//! tables: publishers and campaigns. Their size does not depend on scale.

use std::collections::HashSet;

use chrono::{Days, NaiveDate};
use rand::Rng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use super::util::{chance, int_in, lognormal, pick, uniform};

// ---------------------------------------------------------------------------
// Countries
// ---------------------------------------------------------------------------

pub(crate) struct Country {
    pub code: &'static str,
    /// Base iOS cost per install in USD (Android is cheaper).
    pub cpi: f64,
    /// Monetisation multiplier.
    pub value: f64,
    /// Retention multiplier.
    pub retention: f64,
    /// Local price level applied to in-app purchase price points.
    pub price: f64,
    pub ios_share: f64,
    pub organic_weight: f64,
    pub budget_weight: f64,
    /// Hours to add to UTC to get local time (rounded).
    pub utc_offset: i64,
    pub vpn_rate: f64,
    pub wifi_rate: f64,
}

const fn country(
    code: &'static str,
    cpi: f64,
    value: f64,
    retention: f64,
    price: f64,
    ios_share: f64,
    organic_weight: f64,
    budget_weight: f64,
    utc_offset: i64,
    vpn_rate: f64,
    wifi_rate: f64,
) -> Country {
    Country {
        code,
        cpi,
        value,
        retention,
        price,
        ios_share,
        organic_weight,
        budget_weight,
        utc_offset,
        vpn_rate,
        wifi_rate,
    }
}

pub(crate) const COUNTRIES: [Country; 10] = [
    country("US", 4.2, 1.6, 1.10, 1.00, 0.57, 0.22, 3.0, -5, 0.030, 0.65),
    country("DE", 3.0, 1.2, 1.05, 1.05, 0.35, 0.07, 1.0, 1, 0.025, 0.70),
    country("GB", 3.1, 1.25, 1.05, 1.05, 0.50, 0.07, 1.0, 0, 0.030, 0.70),
    country("FR", 2.6, 1.0, 1.00, 1.00, 0.40, 0.06, 0.8, 1, 0.025, 0.68),
    country("JP", 4.0, 1.7, 1.15, 1.00, 0.66, 0.08, 1.4, 9, 0.015, 0.72),
    country(
        "BR", 0.9, 0.45, 0.85, 0.55, 0.15, 0.13, 1.1, -3, 0.040, 0.50,
    ),
    country(
        "IN", 0.45, 0.30, 0.80, 0.40, 0.05, 0.17, 1.0, 6, 0.050, 0.45,
    ),
    country("KR", 3.5, 1.5, 1.10, 0.95, 0.30, 0.06, 0.9, 9, 0.060, 0.75),
    country("CA", 3.3, 1.3, 1.05, 0.85, 0.55, 0.07, 0.8, -5, 0.030, 0.66),
    country("AU", 3.4, 1.3, 1.05, 0.90, 0.55, 0.07, 0.7, 10, 0.030, 0.66),
];

pub(crate) const US: usize = 0;
pub(crate) const DE: usize = 1;
pub(crate) const JP: usize = 4;
pub(crate) const BR: usize = 5;
pub(crate) const IN: usize = 6;
pub(crate) const KR: usize = 7;

/// Share of a day's activity by local hour (mobile games peak in the evening).
pub(crate) const LOCAL_HOUR_PROFILE: [f64; 24] = [
    2.0, 1.2, 0.8, 0.6, 0.5, 0.6, 1.2, 2.2, 3.0, 3.2, 3.4, 3.6, 4.2, 4.0, 3.8, 3.8, 4.2, 4.8, 5.6,
    6.4, 6.8, 6.4, 5.0, 3.4,
];

// ---------------------------------------------------------------------------
// Platforms, devices, age groups
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Platform {
    Ios = 0,
    Android = 1,
}

impl Platform {
    pub fn name(self) -> &'static str {
        match self {
            Platform::Ios => "iOS",
            Platform::Android => "Android",
        }
    }
}

pub(crate) const IOS_VERSIONS: [(&str, f64); 8] = [
    ("26.1", 0.22),
    ("26.0", 0.18),
    ("18.7", 0.20),
    ("18.6", 0.12),
    ("17.7", 0.10),
    ("17.4", 0.06),
    ("16.7", 0.07),
    ("15.8", 0.05),
];

pub(crate) const ANDROID_VERSIONS: [(&str, f64); 7] = [
    ("16", 0.14),
    ("15", 0.26),
    ("14", 0.24),
    ("13", 0.16),
    ("12", 0.09),
    ("11", 0.07),
    ("10", 0.04),
];

pub(crate) const IOS_DEVICES: [(&str, f64); 11] = [
    ("iPhone 17 Pro", 0.08),
    ("iPhone 17", 0.08),
    ("iPhone 16 Pro", 0.10),
    ("iPhone 16", 0.12),
    ("iPhone 15", 0.14),
    ("iPhone 14", 0.13),
    ("iPhone 13", 0.12),
    ("iPhone 12", 0.08),
    ("iPhone SE (3rd generation)", 0.05),
    ("iPhone 11", 0.05),
    ("iPad (10th generation)", 0.05),
];

/// Older / cheaper iPhones favoured by device farms.
pub(crate) const IOS_FARM_DEVICES: [usize; 3] = [7, 8, 9];

pub(crate) const ANDROID_DEVICES: [(&str, f64); 14] = [
    ("Samsung Galaxy S25", 0.06),
    ("Samsung Galaxy S24", 0.07),
    ("Samsung Galaxy A55", 0.09),
    ("Samsung Galaxy A15", 0.12),
    ("Google Pixel 9", 0.05),
    ("Google Pixel 8a", 0.04),
    ("Xiaomi Redmi Note 13", 0.11),
    ("Xiaomi Redmi 13C", 0.10),
    ("OPPO A78", 0.06),
    ("vivo Y28", 0.08),
    ("Motorola Moto G54", 0.08),
    ("OnePlus 12R", 0.04),
    ("Sony Xperia 10 VI", 0.03),
    ("realme C67", 0.07),
];

/// Cheap Android phones favoured by device farms.
pub(crate) const ANDROID_FARM_DEVICES: [usize; 4] = [3, 7, 9, 13];

/// Android device weights adjusted for a country's market.
pub(crate) fn android_device_weights(country: usize) -> Vec<f64> {
    ANDROID_DEVICES
        .iter()
        .map(|(name, w)| {
            let samsung = name.starts_with("Samsung");
            let flagship = name.contains(" S2") || name.contains("Pixel 9");
            let m = match country {
                KR if samsung => 3.0,
                KR => 0.4,
                JP if name.starts_with("Sony") => 6.0,
                JP if name.contains("Pixel") => 2.5,
                IN if name.starts_with("vivo") || name.starts_with("realme") => 2.5,
                IN if name.starts_with("Xiaomi") => 2.0,
                IN if flagship => 0.3,
                BR if name.starts_with("Motorola") => 3.0,
                BR if name.contains("Galaxy A") => 1.5,
                BR if flagship => 0.5,
                US if name.contains("Pixel") => 2.0,
                US if flagship => 1.6,
                US if name.starts_with("vivo") || name.starts_with("realme") => 0.2,
                DE if name.starts_with("Xiaomi") => 1.4,
                _ => 1.0,
            };
            w * m
        })
        .collect()
}

pub(crate) const AGE_GROUPS: [&str; 5] = ["18-24", "25-34", "35-44", "45-54", "55+"];
pub(crate) const ORGANIC_AGE: [f64; 5] = [0.22, 0.30, 0.22, 0.14, 0.12];
/// Payer propensity by age group.
pub(crate) const AGE_VALUE: [f64; 5] = [0.7, 1.1, 1.3, 1.1, 0.9];

pub(crate) const OBJECTIVES: [&str; 3] = ["installs", "purchases", "retention"];
pub(crate) const OBJ_INSTALLS: usize = 0;
pub(crate) const OBJ_PURCHASES: usize = 1;
pub(crate) const OBJ_RETENTION: usize = 2;

pub(crate) const FORMATS: [&str; 4] = ["video", "image", "playable", "native"];
/// Click-through multiplier by creative format.
pub(crate) const FORMAT_CTR: [f64; 4] = [1.0, 0.8, 1.3, 1.0];

// ---------------------------------------------------------------------------
// Networks
// ---------------------------------------------------------------------------

pub(crate) struct Network {
    pub name: &'static str,
    /// Name without spaces, used in campaign names.
    pub compact: &'static str,
    pub cpi: f64,
    pub quality: f64,
    pub ctr: f64,
    /// Click-to-install conversion.
    pub cvr: f64,
    /// Share of campaigns.
    pub campaign_weight: f64,
    pub budget_weight: f64,
    pub ios_only: bool,
    pub age: [f64; 5],
    pub formats: [f64; 4],
    pub tactics: &'static [&'static str],
    /// Owned inventory: (parent company, publisher names). `None` for
    /// networks whose publishers are third-party apps.
    pub owned: Option<(&'static str, &'static [&'static str])>,
}

pub(crate) const FACEBOOK: usize = 0;
pub(crate) const TIKTOK: usize = 2;
pub(crate) const SNAPCHAT: usize = 3;
pub(crate) const APPLOVIN: usize = 4;
pub(crate) const UNITY: usize = 5;
pub(crate) const IRONSOURCE: usize = 6;
pub(crate) const APPLE: usize = 7;
pub(crate) const GOOGLE: usize = 1;

pub(crate) const NETWORKS: [Network; 8] = [
    Network {
        name: "Facebook",
        compact: "Facebook",
        cpi: 1.1,
        quality: 1.1,
        ctr: 0.012,
        cvr: 0.30,
        campaign_weight: 0.20,
        budget_weight: 1.3,
        ios_only: false,
        age: [0.12, 0.27, 0.26, 0.20, 0.15],
        formats: [0.50, 0.35, 0.05, 0.10],
        tactics: &[
            "Lookalike",
            "Broad",
            "Interest",
            "Retargeting",
            "AdvantagePlus",
        ],
        owned: Some((
            "Meta",
            &[
                "Facebook Feed",
                "Instagram Feed",
                "Instagram Stories",
                "Instagram Reels",
                "Facebook Reels",
                "Audience Network",
                "Messenger Inbox",
            ],
        )),
    },
    Network {
        name: "Google",
        compact: "Google",
        cpi: 1.0,
        quality: 1.05,
        ctr: 0.015,
        cvr: 0.28,
        campaign_weight: 0.18,
        budget_weight: 1.2,
        ios_only: false,
        age: [0.20, 0.30, 0.23, 0.15, 0.12],
        formats: [0.45, 0.30, 0.0, 0.25],
        tactics: &["AppCampaign", "AppEngagement", "tROAS", "tCPA"],
        owned: Some((
            "Alphabet",
            &[
                "YouTube",
                "Google Search",
                "Google Play",
                "YouTube Shorts",
                "Google Display Network",
                "Google Discover",
                "AdMob Network",
            ],
        )),
    },
    Network {
        name: "TikTok",
        compact: "TikTok",
        cpi: 0.8,
        quality: 0.85,
        ctr: 0.020,
        cvr: 0.22,
        campaign_weight: 0.14,
        budget_weight: 1.0,
        ios_only: false,
        age: [0.38, 0.33, 0.16, 0.08, 0.05],
        formats: [0.90, 0.05, 0.0, 0.05],
        tactics: &["Broad", "Interest", "SparkAds", "SmartPlus"],
        owned: Some((
            "ByteDance",
            &[
                "TikTok For You",
                "Pangle",
                "TikTok Search",
                "CapCut",
                "Lemon8",
            ],
        )),
    },
    Network {
        name: "Snapchat",
        compact: "Snapchat",
        cpi: 0.75,
        quality: 0.8,
        ctr: 0.010,
        cvr: 0.20,
        campaign_weight: 0.07,
        budget_weight: 0.6,
        ios_only: false,
        age: [0.42, 0.32, 0.14, 0.07, 0.05],
        formats: [0.75, 0.20, 0.0, 0.05],
        tactics: &["Broad", "Lookalike", "Interest"],
        owned: Some((
            "Snap Inc.",
            &[
                "Snapchat Stories",
                "Snapchat Spotlight",
                "Snapchat Discover",
                "Snap Audience Network",
            ],
        )),
    },
    Network {
        name: "AppLovin",
        compact: "AppLovin",
        cpi: 0.95,
        quality: 1.0,
        ctr: 0.025,
        cvr: 0.25,
        campaign_weight: 0.12,
        budget_weight: 1.1,
        ios_only: false,
        age: [0.18, 0.28, 0.24, 0.17, 0.13],
        formats: [0.45, 0.05, 0.45, 0.05],
        tactics: &["CPI", "ROAS", "CPE", "Retargeting"],
        owned: None,
    },
    Network {
        name: "Unity Ads",
        compact: "UnityAds",
        cpi: 0.75,
        quality: 0.85,
        ctr: 0.022,
        cvr: 0.22,
        campaign_weight: 0.10,
        budget_weight: 0.7,
        ios_only: false,
        age: [0.25, 0.30, 0.22, 0.13, 0.10],
        formats: [0.50, 0.05, 0.40, 0.05],
        tactics: &["CPI", "ROAS", "Rewarded"],
        owned: None,
    },
    Network {
        name: "ironSource",
        compact: "ironSource",
        cpi: 0.7,
        quality: 0.8,
        ctr: 0.020,
        cvr: 0.20,
        campaign_weight: 0.09,
        budget_weight: 0.6,
        ios_only: false,
        age: [0.25, 0.30, 0.22, 0.13, 0.10],
        formats: [0.50, 0.05, 0.40, 0.05],
        tactics: &["CPI", "ROAS", "Rewarded", "Offerwall"],
        owned: None,
    },
    Network {
        name: "Apple Search Ads",
        compact: "AppleSearchAds",
        cpi: 1.3,
        quality: 1.4,
        ctr: 0.080,
        cvr: 0.55,
        campaign_weight: 0.10,
        budget_weight: 0.9,
        ios_only: true,
        age: [0.15, 0.30, 0.27, 0.17, 0.11],
        formats: [0.0, 0.0, 0.0, 1.0],
        tactics: &["Brand", "Generic", "Competitor", "Discovery"],
        owned: Some((
            "Apple",
            &[
                "App Store Search Results",
                "App Store Search Tab",
                "App Store Today Tab",
                "App Store Product Pages",
            ],
        )),
    },
];

/// Quality multiplier for organic users (they chose the app themselves).
pub(crate) const ORGANIC_QUALITY: f64 = 1.15;

const APP_PREFIXES: [&str; 18] = [
    "Solitaire",
    "Sudoku",
    "Mahjong",
    "Jigsaw",
    "Word",
    "Block",
    "Bubble",
    "Tile",
    "Merge",
    "Idle",
    "Farm",
    "Cooking",
    "Pixel",
    "Hexa",
    "Dice",
    "Bingo",
    "Trivia",
    "Puzzle",
];
const APP_SUFFIXES: [&str; 16] = [
    "Sunrise", "Journey", "Garden", "Kingdom", "Quest", "Legends", "Harbor", "Valley", "Blitz",
    "Odyssey", "Fever", "Paradise", "Story", "Master", "Islands", "Craze",
];
const STUDIOS: [&str; 12] = [
    "Pinecone Games",
    "Bluefin Studios",
    "Moonlit Interactive",
    "Hexa Mobile",
    "Orbit Play",
    "Lucky Cat Apps",
    "Northwind Games",
    "Sunnyside Studio",
    "Kraken Soft",
    "Pixel Orchard",
    "Tiny Titan Games",
    "Zen Loop Media",
];
/// Third-party apps per app network (including its fraudulent ones).
const APPS_PER_NETWORK: usize = 14;

// ---------------------------------------------------------------------------
// Fraud
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FraudKind {
    /// Malware fires a click seconds before an install completes.
    ClickInjection,
    /// Real devices (new, cheap) installing from a handful of IPs.
    InstallFarm,
    /// Emulators / bots behind VPN exit nodes.
    VpnBots,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct FraudProfile {
    pub kind: FraudKind,
    /// Share of the publisher's paid installs that are fraudulent.
    pub share: f64,
}

/// Fraud share of installs on ordinary publishers.
pub(crate) const BASELINE_FRAUD_SHARE: f64 = 0.004;

/// (network, name, parent, kind, share)
const FRAUD_PUBLISHERS: [(usize, &str, &str, FraudKind, f64); 4] = [
    (
        APPLOVIN,
        "Turbo Phone Cleaner",
        "Quickstream Media",
        FraudKind::ClickInjection,
        0.20,
    ),
    (
        UNITY,
        "Lucky Spin Rewards",
        "Quickstream Media",
        FraudKind::InstallFarm,
        0.36,
    ),
    (
        IRONSOURCE,
        "Daily Cash Quiz",
        "AdNova Holdings",
        FraudKind::VpnBots,
        0.34,
    ),
    (
        UNITY,
        "Battery Saver Pro",
        "AdNova Holdings",
        FraudKind::ClickInjection,
        0.26,
    ),
];

// ---------------------------------------------------------------------------
// Dimension rows
// ---------------------------------------------------------------------------

pub(crate) struct Publisher {
    pub id: i64,
    pub name: String,
    pub network: usize,
    pub parent: String,
    /// Relative share of a campaign's delivery.
    pub weight: f64,
    pub cpi_factor: f64,
    pub fraud: Option<FraudProfile>,
}

pub(crate) struct Campaign {
    pub id: i64,
    pub name: String,
    pub network: usize,
    pub platform: Platform,
    pub country: usize,
    pub objective: usize,
    pub format: usize,
    pub start: NaiveDate,
    pub end: Option<NaiveDate>,
    /// Day index (0 = first day of the window) of the start; may be negative.
    pub start_idx: i64,
    /// Last day index with delivery (inclusive); may exceed the window.
    pub end_idx: i64,
    /// Filled in once volumes are calibrated.
    pub daily_budget: f64,
    /// Relative budget.
    pub weight: f64,
    pub cpi_factor: f64,
    pub budget_headroom: f64,
    pub drift_period: f64,
    pub drift_phase: f64,
    pub drift_amp: f64,
    /// (publisher index, share of delivery), sorted by publisher id.
    pub publishers: Vec<(usize, f64)>,
}

impl Campaign {
    pub fn active_on(&self, day: i64) -> bool {
        self.start_idx <= day && day <= self.end_idx
    }
}

pub(crate) struct Catalog {
    pub publishers: Vec<Publisher>,
    pub campaigns: Vec<Campaign>,
    /// Index of the publisher that gets the planted fraud burst.
    pub burst_publisher: usize,
    /// Index of the campaign that gets the planted spend spike.
    pub spend_spike_campaign: usize,
}

struct CampaignSeed {
    network: usize,
    platform: Platform,
    country: usize,
    objective: usize,
    format: usize,
    tactic: &'static str,
    boost: f64,
    always_on: bool,
    force_publisher: Option<usize>,
}

const RANDOM_CAMPAIGNS: usize = 118;

pub(crate) fn build(rng: &mut ChaCha8Rng, first: NaiveDate, days: u32) -> Catalog {
    let publishers = build_publishers(rng);
    let burst_publisher = publishers
        .iter()
        .position(|p| p.fraud.is_some_and(|f| f.kind == FraudKind::ClickInjection))
        .expect("catalog always has a click-injection publisher");
    let find_pub = |name: &str| publishers.iter().position(|p| p.name == name);

    // Anchors: always-on campaigns that the planted events rely on.
    let anchor = |network, platform, country, objective, format, tactic, boost| CampaignSeed {
        network,
        platform,
        country,
        objective,
        format,
        tactic,
        boost,
        always_on: true,
        force_publisher: None,
    };
    let mut seeds = vec![
        anchor(
            TIKTOK,
            Platform::Android,
            BR,
            OBJ_INSTALLS,
            0,
            "Broad",
            10.0,
        ),
        anchor(TIKTOK, Platform::Ios, BR, OBJ_INSTALLS, 0, "Interest", 3.0),
        anchor(
            FACEBOOK,
            Platform::Ios,
            US,
            OBJ_PURCHASES,
            0,
            "Lookalike",
            2.0,
        ),
        CampaignSeed {
            force_publisher: Some(burst_publisher),
            ..anchor(
                APPLOVIN,
                Platform::Android,
                US,
                OBJ_PURCHASES,
                2,
                "ROAS",
                2.0,
            )
        },
        CampaignSeed {
            force_publisher: Some(burst_publisher),
            ..anchor(APPLOVIN, Platform::Android, BR, OBJ_INSTALLS, 2, "CPI", 2.0)
        },
        anchor(APPLE, Platform::Ios, US, OBJ_INSTALLS, 3, "Brand", 1.5),
        anchor(
            GOOGLE,
            Platform::Android,
            IN,
            OBJ_INSTALLS,
            0,
            "AppCampaign",
            1.5,
        ),
        CampaignSeed {
            force_publisher: find_pub("Lucky Spin Rewards"),
            ..anchor(UNITY, Platform::Android, IN, OBJ_INSTALLS, 2, "CPI", 1.2)
        },
        CampaignSeed {
            force_publisher: find_pub("Daily Cash Quiz"),
            ..anchor(
                IRONSOURCE,
                Platform::Android,
                BR,
                OBJ_INSTALLS,
                2,
                "Rewarded",
                1.2,
            )
        },
        anchor(SNAPCHAT, Platform::Ios, US, OBJ_INSTALLS, 0, "Broad", 1.0),
        anchor(
            FACEBOOK,
            Platform::Android,
            DE,
            OBJ_RETENTION,
            1,
            "Broad",
            1.0,
        ),
        anchor(GOOGLE, Platform::Ios, JP, OBJ_PURCHASES, 0, "tROAS", 1.2),
    ];
    let spend_spike_seed = 2;

    let network_weights: Vec<f64> = NETWORKS.iter().map(|n| n.campaign_weight).collect();
    let country_weights: Vec<f64> = COUNTRIES.iter().map(|c| c.budget_weight).collect();
    for _ in 0..RANDOM_CAMPAIGNS {
        let network = pick(rng, &network_weights);
        let net = &NETWORKS[network];
        let country = pick(rng, &country_weights);
        let ios_p = 0.25 + 0.6 * COUNTRIES[country].ios_share;
        let platform = if net.ios_only || chance(rng, ios_p) {
            Platform::Ios
        } else {
            Platform::Android
        };
        let objective = pick(rng, &[0.5, 0.3, 0.2]);
        let format = pick(rng, &net.formats);
        let tactic = net.tactics[rng.random_range(0..net.tactics.len())];
        seeds.push(CampaignSeed {
            network,
            platform,
            country,
            objective,
            format,
            tactic,
            boost: 1.0,
            always_on: false,
            force_publisher: None,
        });
    }

    // Ids are handed out in a shuffled order so anchors do not stand out.
    let mut order: Vec<usize> = (0..seeds.len()).collect();
    order.shuffle(rng);
    let mut slot_of = vec![0usize; seeds.len()];
    for (slot, &seed_idx) in order.iter().enumerate() {
        slot_of[seed_idx] = slot;
    }

    let days = i64::from(days);
    let mut names = HashSet::new();
    let mut campaigns = Vec::with_capacity(seeds.len());
    for &seed_idx in &order {
        let s = &seeds[seed_idx];
        let net = &NETWORKS[s.network];
        let base = format!(
            "{}_{}_{}_{}",
            net.compact,
            s.platform.name(),
            COUNTRIES[s.country].code,
            s.tactic
        );
        let mut name = base.clone();
        let mut n = 2;
        while !names.insert(name.clone()) {
            name = format!("{base}_{n}");
            n += 1;
        }

        let (start_idx, end_idx) = if s.always_on || days < 2 {
            (-int_in(rng, 7, 400), None)
        } else {
            match pick(rng, &[0.38, 0.22, 0.32, 0.08]) {
                0 => (-int_in(rng, 7, 400), None),
                1 => {
                    let end = int_in(rng, 0, days - 2);
                    (end - int_in(rng, 14, 90), Some(end))
                }
                2 => {
                    let start = int_in(rng, 0, days - 1);
                    let end = if chance(rng, 0.5) {
                        Some(start + int_in(rng, 10, 60)).filter(|e| *e < days - 1)
                    } else {
                        None
                    };
                    (start, end)
                }
                _ => {
                    let end = -int_in(rng, 1, 60);
                    (end - int_in(rng, 20, 120), Some(end))
                }
            }
        };
        let start = offset_date(first, start_idx);
        let end = end_idx.map(|e| offset_date(first, e));

        let publishers = choose_publishers(rng, &publishers, s.network, s.force_publisher);
        let objective_cpi = [0.9, 1.25, 1.1][s.objective];
        campaigns.push(Campaign {
            id: 100_001 + campaigns.len() as i64,
            name,
            network: s.network,
            platform: s.platform,
            country: s.country,
            objective: s.objective,
            format: s.format,
            start,
            end,
            start_idx,
            end_idx: end_idx.unwrap_or(days - 1),
            daily_budget: 0.0,
            weight: s.boost
                * if s.always_on && s.boost > 1.0 {
                    1.0
                } else {
                    lognormal(rng, 1.0, 0.6)
                }
                * COUNTRIES[s.country].budget_weight.sqrt()
                * net.budget_weight,
            cpi_factor: lognormal(rng, 1.0, 0.15) * objective_cpi,
            budget_headroom: uniform(rng, 1.05, 1.35),
            drift_period: uniform(rng, 18.0, 60.0),
            drift_phase: uniform(rng, 0.0, std::f64::consts::TAU),
            drift_amp: uniform(rng, 0.05, 0.3),
            publishers,
        });
    }

    Catalog {
        publishers,
        campaigns,
        burst_publisher,
        spend_spike_campaign: slot_of[spend_spike_seed],
    }
}

fn offset_date(first: NaiveDate, idx: i64) -> NaiveDate {
    let shifted = if idx >= 0 {
        first.checked_add_days(Days::new(idx.unsigned_abs()))
    } else {
        first.checked_sub_days(Days::new(idx.unsigned_abs()))
    };
    shifted.unwrap_or(first)
}

fn build_publishers(rng: &mut ChaCha8Rng) -> Vec<Publisher> {
    let mut app_names: Vec<String> = APP_PREFIXES
        .iter()
        .flat_map(|p| APP_SUFFIXES.iter().map(move |s| format!("{p} {s}")))
        .collect();
    app_names.shuffle(rng);
    let mut app_names = app_names.into_iter();

    let mut out: Vec<Publisher> = Vec::new();
    for (n, net) in NETWORKS.iter().enumerate() {
        match net.owned {
            Some((parent, names)) => {
                for (rank, name) in names.iter().enumerate() {
                    out.push(Publisher {
                        id: 0,
                        name: (*name).to_string(),
                        network: n,
                        parent: parent.to_string(),
                        weight: lognormal(rng, 1.0, 0.35) * 0.8f64.powi(rank as i32),
                        cpi_factor: lognormal(rng, 1.0, 0.1),
                        fraud: None,
                    });
                }
            }
            None => {
                let frauds: Vec<_> = FRAUD_PUBLISHERS.iter().filter(|f| f.0 == n).collect();
                for _ in 0..APPS_PER_NETWORK.saturating_sub(frauds.len()) {
                    let name = app_names.next().unwrap_or_default();
                    out.push(Publisher {
                        id: 0,
                        name,
                        network: n,
                        parent: STUDIOS[rng.random_range(0..STUDIOS.len())].to_string(),
                        weight: lognormal(rng, 1.0, 0.6),
                        cpi_factor: lognormal(rng, 1.0, 0.12),
                        fraud: None,
                    });
                }
                for &&(_, name, parent, kind, share) in &frauds {
                    out.push(Publisher {
                        id: 0,
                        name: name.to_string(),
                        network: n,
                        parent: parent.to_string(),
                        weight: 2.2,
                        cpi_factor: 0.8,
                        fraud: Some(FraudProfile { kind, share }),
                    });
                }
            }
        }
    }
    // Mix the fraudulent apps in among the others of their network, then
    // number everything in network order.
    let mut sorted: Vec<Publisher> = Vec::with_capacity(out.len());
    for (n, net) in NETWORKS.iter().enumerate() {
        let mut group: Vec<Publisher> = Vec::new();
        let mut rest = Vec::new();
        for p in out.drain(..) {
            if p.network == n {
                group.push(p)
            } else {
                rest.push(p)
            }
        }
        out = rest;
        if net.owned.is_none() {
            group.shuffle(rng);
        }
        sorted.extend(group);
    }
    for (i, p) in sorted.iter_mut().enumerate() {
        p.id = 5_001 + i as i64;
    }
    sorted
}

fn choose_publishers(
    rng: &mut ChaCha8Rng,
    publishers: &[Publisher],
    network: usize,
    force: Option<usize>,
) -> Vec<(usize, f64)> {
    let candidates: Vec<usize> = (0..publishers.len())
        .filter(|&i| publishers[i].network == network)
        .collect();
    let want = (int_in(rng, 2, 6) as usize).min(candidates.len());
    let mut chosen: Vec<usize> = force.into_iter().collect();
    let mut weights: Vec<f64> = candidates.iter().map(|&i| publishers[i].weight).collect();
    while chosen.len() < want {
        let k = pick(rng, &weights);
        let idx = candidates[k];
        weights[k] = 0.0;
        if !chosen.contains(&idx) {
            chosen.push(idx);
        }
        if weights.iter().all(|w| *w <= 0.0) {
            break;
        }
    }
    chosen.sort_unstable();
    let mut shares: Vec<(usize, f64)> = chosen
        .into_iter()
        .map(|i| {
            let boost = if Some(i) == force { 4.0 } else { 1.0 };
            (i, publishers[i].weight * lognormal(rng, 1.0, 0.4) * boost)
        })
        .collect();
    let total: f64 = shares.iter().map(|(_, s)| s).sum();
    if total > 0.0 {
        for (_, s) in &mut shares {
            *s /= total;
        }
    }
    shares
}
