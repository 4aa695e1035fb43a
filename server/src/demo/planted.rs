//! Anomalies planted on purpose in the last weeks of the window.

use std::collections::BTreeMap;

use chrono::{Days, NaiveDate};

use super::catalog::{BR, COUNTRIES, Catalog, NETWORKS, Platform, TIKTOK};
use super::manifest::{MagnitudeUnit, PlantedEvent, PlantedKind};

/// Inclusive range of day indices (0 = first day of the window).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Window {
    pub start: i64,
    pub end: i64,
}

impl Window {
    pub fn contains(&self, day: i64) -> bool {
        self.start <= day && day <= self.end
    }

    /// Place a window `days_ago` days before the last day, lasting `len`
    /// days; compressed proportionally when the data covers under 60 days.
    fn before_end(days: u32, days_ago: i64, len: i64) -> Self {
        let days = i64::from(days);
        let (ago, len) = if days >= 60 {
            (days_ago, len)
        } else {
            let f = days as f64 / 60.0;
            (
                (days_ago as f64 * f).round() as i64,
                ((len as f64 * f).round() as i64).max(1),
            )
        };
        let start = (days - 1 - ago).max(0);
        Window {
            start,
            end: (start + len - 1).min(days - 1),
        }
    }
}

pub(crate) const SPIKE_INSTALL_MULT: f64 = 3.5;
pub(crate) const SPIKE_SPEND_MULT: f64 = 1.5;
pub(crate) const DROP_KEEP: f64 = 0.2;
pub(crate) const BURST_SHARE: f64 = 0.75;
pub(crate) const SPEND_SPIKE_MULT: f64 = 3.0;
pub(crate) const SPEND_SPIKE_INSTALL_MULT: f64 = 1.2;

pub(crate) struct Planted {
    /// Paid installs on TikTok in Brazil jump (a creative goes viral).
    pub install_spike: Window,
    pub spike_network: usize,
    pub spike_country: usize,
    /// Android purchases fail for most users (a broken store release).
    pub revenue_drop: Window,
    pub drop_platform: Platform,
    /// One publisher floods a campaign with injected clicks.
    pub fraud_burst: Window,
    pub burst_publisher: usize,
    /// A campaign's bids are mistakenly raised.
    pub spend_spike: Window,
    pub spend_spike_campaign: usize,
}

impl Planted {
    pub fn new(days: u32, catalog: &Catalog) -> Self {
        Planted {
            install_spike: Window::before_end(days, 44, 3),
            spike_network: TIKTOK,
            spike_country: BR,
            revenue_drop: Window::before_end(days, 30, 7),
            drop_platform: Platform::Android,
            fraud_burst: Window::before_end(days, 17, 5),
            burst_publisher: catalog.burst_publisher,
            spend_spike: Window::before_end(days, 5, 3),
            spend_spike_campaign: catalog.spend_spike_campaign,
        }
    }

    pub fn describe(&self, catalog: &Catalog, first: NaiveDate) -> Vec<PlantedEvent> {
        let date = |idx: i64| {
            first
                .checked_add_days(Days::new(idx.max(0).unsigned_abs()))
                .unwrap_or(first)
        };
        let dims = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
                .collect()
        };
        let network = NETWORKS[self.spike_network].name;
        let country = COUNTRIES[self.spike_country].code;
        let publisher = &catalog.publishers[self.burst_publisher];
        let campaign = &catalog.campaigns[self.spend_spike_campaign];
        vec![
            PlantedEvent {
                kind: PlantedKind::Spike,
                description: format!(
                    "A {network} creative went viral in {country}: paid installs from \
                     {network} in {country} jump about {SPIKE_INSTALL_MULT}x while spend \
                     rises only about {SPIKE_SPEND_MULT}x (CPI falls)."
                ),
                metric: "installs".into(),
                dimensions: dims(&[("network", network), ("country", country)]),
                start_date: date(self.install_spike.start),
                end_date: date(self.install_spike.end),
                magnitude: SPIKE_INSTALL_MULT,
                magnitude_unit: MagnitudeUnit::Multiplier,
            },
            PlantedEvent {
                kind: PlantedKind::Drop,
                description: format!(
                    "A broken store release: most {} purchases fail after add_to_cart, so \
                     {} purchase revenue and cart-to-purchase conversion fall to about {}% \
                     of normal.",
                    self.drop_platform.name(),
                    self.drop_platform.name(),
                    (DROP_KEEP * 100.0).round()
                ),
                metric: "revenue".into(),
                dimensions: dims(&[
                    ("platform", self.drop_platform.name()),
                    ("event_name", "purchase"),
                ]),
                start_date: date(self.revenue_drop.start),
                end_date: date(self.revenue_drop.end),
                magnitude: DROP_KEEP,
                magnitude_unit: MagnitudeUnit::Multiplier,
            },
            PlantedEvent {
                kind: PlantedKind::FraudBurst,
                description: format!(
                    "Click injection burst on publisher {} ({}): its install volume roughly \
                     quadruples and about {}% of its installs are fraudulent, with \
                     click-to-install times of a few seconds.",
                    publisher.name,
                    NETWORKS[publisher.network].name,
                    (BURST_SHARE * 100.0).round()
                ),
                metric: "fraud_rate".into(),
                dimensions: dims(&[
                    ("publisher_name", publisher.name.as_str()),
                    ("network", NETWORKS[publisher.network].name),
                ]),
                start_date: date(self.fraud_burst.start),
                end_date: date(self.fraud_burst.end),
                magnitude: BURST_SHARE,
                magnitude_unit: MagnitudeUnit::Share,
            },
            PlantedEvent {
                kind: PlantedKind::Spike,
                description: format!(
                    "Bids on campaign {} were raised by mistake: its spend jumps about \
                     {SPEND_SPIKE_MULT}x while installs rise only about \
                     {SPEND_SPIKE_INSTALL_MULT}x (CPI rises sharply).",
                    campaign.name
                ),
                metric: "spend".into(),
                dimensions: dims(&[("campaign_name", campaign.name.as_str())]),
                start_date: date(self.spend_spike.start),
                end_date: date(self.spend_spike.end),
                magnitude: SPEND_SPIKE_MULT,
                magnitude_unit: MagnitudeUnit::Multiplier,
            },
        ]
    }
}
