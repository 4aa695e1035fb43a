//! Real-shaped inputs for the answer tests: plans compiled against the demo
//! model at the demo warehouse's as-of date, with the rows the demo warehouse
//! returned for them (`quarry query --plan`), floats rounded.

use std::sync::LazyLock;

use chrono::NaiveDate;
use quarry_schema::{CompileContext, CompiledQuery, SemanticModel, SemanticQuery};
use serde_json::{Value, json};

pub(super) static MODEL: LazyLock<SemanticModel> =
    LazyLock::new(|| quarry_schema::demo_model::load().expect("the demo model loads"));

pub(super) struct Case {
    pub compiled: CompiledQuery,
    pub rows: Vec<Vec<Value>>,
}

pub(super) fn plan(json: &str) -> SemanticQuery {
    serde_json::from_str(json).expect("a valid plan")
}

pub(super) fn compile(json: &str) -> CompiledQuery {
    let ctx = CompileContext {
        as_of: NaiveDate::from_ymd_opt(2026, 11, 18).expect("a date"),
        data_start: NaiveDate::from_ymd_opt(2025, 11, 19),
    };
    quarry_schema::compile(&MODEL, &plan(json), &ctx).expect("the plan compiles")
}

fn case(json: &str, rows: Value) -> Case {
    let rows = match rows {
        Value::Array(rows) => rows
            .into_iter()
            .map(|r| match r {
                Value::Array(cells) => cells,
                other => vec![other],
            })
            .collect(),
        _ => Vec::new(),
    };
    Case {
        compiled: compile(json),
        rows,
    }
}

/// Installs last month against the month before.
pub(super) fn installs_last_month_vs_previous() -> Case {
    case(
        r#"{"metrics": ["installs"], "time_range": {"kind": "previous", "unit": "month"}, "compare": {"kind": "previous_period"}}"#,
        json!([[197886, 178666, 19220, 0.107575]]),
    )
}

/// Weekly spend and installs over the last 90 days (partial weeks at both ends).
pub(super) fn spend_and_installs_weekly() -> Case {
    case(
        r#"{"metrics": ["spend", "installs"], "dimensions": [{"name": "date", "grain": "week"}], "time_range": {"kind": "last_n_days", "n": 90}}"#,
        json!([
            ["2026-08-17", 32687.82, 18161],
            ["2026-08-24", 73004.26, 40308],
            ["2026-08-31", 73270.84, 41162],
            ["2026-09-07", 74409.59, 41168],
            ["2026-09-14", 73625.61, 41682],
            ["2026-09-21", 76007.71, 42770],
            ["2026-09-28", 79117.85, 42307],
            ["2026-10-05", 80843.27, 47069],
            ["2026-10-12", 82187.1, 44210],
            ["2026-10-19", 80946.8, 44208],
            ["2026-10-26", 80242.72, 44643],
            ["2026-11-02", 82477.62, 47559],
            ["2026-11-09", 89325.92, 45357],
            ["2026-11-16", 36274.89, 18690]
        ]),
    )
}

/// The five campaigns with the best ROAS last month.
pub(super) fn top_5_campaigns_by_roas() -> Case {
    case(
        r#"{"metrics": ["roas"], "dimensions": [{"name": "campaign"}], "time_range": {"kind": "previous", "unit": "month"}, "limit": 5}"#,
        json!([
            ["Facebook_Android_KR_Lookalike", 2.643042],
            ["Facebook_Android_JP_Broad", 2.61578],
            ["AppleSearchAds_iOS_DE_Generic", 2.500193],
            ["Facebook_Android_DE_Broad", 2.364518],
            ["Facebook_iOS_JP_Interest", 1.988079]
        ]),
    )
}

/// CPI by network last month against the month before.
pub(super) fn cpi_by_network_vs_previous() -> Case {
    case(
        r#"{"metrics": ["cpi"], "dimensions": [{"name": "network"}], "time_range": {"kind": "previous", "unit": "month"}, "compare": {"kind": "previous_period"}}"#,
        json!([
            ["Apple Search Ads", 4.580551, 4.259248, 0.321303, 0.075437],
            ["Facebook", 4.209685, 3.901945, 0.30774, 0.078868],
            ["Google", 2.753539, 2.594917, 0.158622, 0.061128],
            ["ironSource", 2.311127, 2.277033, 0.034094, 0.014973],
            ["Snapchat", 2.080646, 2.053701, 0.026945, 0.01312],
            ["AppLovin", 1.919402, 1.899519, 0.019883, 0.010467],
            ["Unity Ads", 1.798143, 1.692145, 0.105998, 0.062641],
            ["TikTok", 1.310598, 1.524358, -0.21376, -0.14023]
        ]),
    )
}

/// Installs by network and platform last month.
pub(super) fn installs_by_network_and_platform() -> Case {
    case(
        r#"{"metrics": ["installs"], "dimensions": [{"name": "network"}, {"name": "platform"}], "time_range": {"kind": "previous", "unit": "month"}}"#,
        json!([
            ["Organic", "Android", 34784],
            ["AppLovin", "Android", 25241],
            ["Organic", "iOS", 21723],
            ["Facebook", "iOS", 20316],
            ["TikTok", "Android", 14121],
            ["Google", "Android", 12717],
            ["TikTok", "iOS", 12502],
            ["ironSource", "iOS", 9055],
            ["Apple Search Ads", "iOS", 8965],
            ["Unity Ads", "Android", 7409],
            ["Google", "iOS", 6949],
            ["Snapchat", "iOS", 5101],
            ["AppLovin", "iOS", 4793],
            ["Facebook", "Android", 4780],
            ["ironSource", "Android", 3985],
            ["Unity Ads", "iOS", 3194],
            ["Snapchat", "Android", 2251]
        ]),
    )
}

/// Weekly installs over the last 28 days, each week against the one before.
pub(super) fn weekly_installs_vs_previous() -> Case {
    case(
        r#"{"metrics": ["installs"], "dimensions": [{"name": "date", "grain": "week"}], "time_range": {"kind": "last_n_days", "n": 28}, "compare": {"kind": "previous_period"}}"#,
        json!([
            ["2026-10-19", 26592, 26688, -96, -0.003597],
            ["2026-10-26", 44643, 44208, 435, 0.00984],
            ["2026-11-02", 47559, 44643, 2916, 0.065318],
            ["2026-11-09", 45357, 47559, -2202, -0.0463],
            ["2026-11-16", 18690, 17874, 816, 0.045653]
        ]),
    )
}

/// Installs, iOS against Android, last month.
pub(super) fn installs_ios_vs_android() -> Case {
    case(
        r#"{"metrics": ["installs"], "compare": {"kind": "segments", "dimension": "platform", "values": ["iOS", "Android"]}, "time_range": {"kind": "previous", "unit": "month"}}"#,
        json!([["Android", 105288], ["iOS", 92598]]),
    )
}

/// Installs by campaign in a country with no data.
pub(super) fn installs_in_unknown_country() -> Case {
    case(
        r#"{"metrics": ["installs"], "filters": [{"dimension": "country", "op": "in", "values": ["ZZ"]}], "dimensions": [{"name": "campaign"}], "time_range": {"kind": "previous", "unit": "month"}}"#,
        json!([]),
    )
}

/// Weekly installs by platform over the last 56 days.
pub(super) fn weekly_installs_by_platform() -> Case {
    case(
        r#"{"metrics": ["installs"], "dimensions": [{"name": "date", "grain": "week"}, {"name": "platform"}], "time_range": {"kind": "last_n_days", "n": 56}}"#,
        json!([
            ["2026-09-21", "Android", 14084],
            ["2026-09-21", "iOS", 11925],
            ["2026-09-28", "Android", 22640],
            ["2026-09-28", "iOS", 19667],
            ["2026-10-05", "Android", 25269],
            ["2026-10-05", "iOS", 21800],
            ["2026-10-12", "Android", 23300],
            ["2026-10-12", "iOS", 20910],
            ["2026-10-19", "Android", 23245],
            ["2026-10-19", "iOS", 20963],
            ["2026-10-26", "Android", 24526],
            ["2026-10-26", "iOS", 20117],
            ["2026-11-02", "Android", 27201],
            ["2026-11-02", "iOS", 20358],
            ["2026-11-09", "Android", 23398],
            ["2026-11-09", "iOS", 21959],
            ["2026-11-16", "Android", 9523],
            ["2026-11-16", "iOS", 9167]
        ]),
    )
}

/// D7 retention last month against the month before.
pub(super) fn d7_retention_vs_previous() -> Case {
    case(
        r#"{"metrics": ["retention_d7"], "time_range": {"kind": "previous", "unit": "month"}, "compare": {"kind": "previous_period"}}"#,
        json!([[0.14949, 0.150555, -0.001065, -0.007071]]),
    )
}

/// Spend, installs and CPI last week.
pub(super) fn spend_installs_cpi_last_week() -> Case {
    case(
        r#"{"metrics": ["spend", "installs", "cpi"], "time_range": {"kind": "previous", "unit": "week"}}"#,
        json!([[89325.92, 45357, 2.772289]]),
    )
}

/// Campaigns with ROAS above 3 last month (none).
pub(super) fn campaigns_with_roas_above_3() -> Case {
    case(
        r#"{"metrics": ["roas"], "dimensions": [{"name": "campaign"}], "conditions": [{"metric": "roas", "op": "gt", "value": 3}], "time_range": {"kind": "previous", "unit": "month"}}"#,
        json!([]),
    )
}

/// iOS ROAS last month against the month before.
pub(super) fn ios_roas_vs_previous() -> Case {
    case(
        r#"{"metrics": ["roas"], "filters": [{"dimension": "platform", "op": "in", "values": ["iOS"]}], "time_range": {"kind": "previous", "unit": "month"}, "compare": {"kind": "previous_period"}}"#,
        json!([[1.224145, 1.257889, -0.033745, -0.026826]]),
    )
}

/// Installs by network last month.
pub(super) fn installs_by_network() -> Case {
    case(
        r#"{"metrics": ["installs"], "dimensions": [{"name": "network"}], "time_range": {"kind": "previous", "unit": "month"}}"#,
        json!([
            ["Organic", 56507],
            ["AppLovin", 30034],
            ["TikTok", 26623],
            ["Facebook", 25096],
            ["Google", 19666],
            ["ironSource", 13040],
            ["Unity Ads", 10603],
            ["Apple Search Ads", 8965],
            ["Snapchat", 7352]
        ]),
    )
}

/// CPI, iOS against Android, last month.
pub(super) fn cpi_ios_vs_android() -> Case {
    case(
        r#"{"metrics": ["cpi"], "compare": {"kind": "segments", "dimension": "platform", "values": ["iOS", "Android"]}, "time_range": {"kind": "previous", "unit": "month"}}"#,
        json!([["iOS", 3.444748], ["Android", 1.613448]]),
    )
}

/// Daily spend over the last 14 days.
pub(super) fn daily_spend() -> Case {
    case(
        r#"{"metrics": ["spend"], "dimensions": [{"name": "date", "grain": "day"}], "time_range": {"kind": "last_n_days", "n": 14}}"#,
        json!([
            ["2026-11-05", 12194.57],
            ["2026-11-06", 11342.03],
            ["2026-11-07", 11930.64],
            ["2026-11-08", 12103.68],
            ["2026-11-09", 11326.42],
            ["2026-11-10", 11042.45],
            ["2026-11-11", 11116.95],
            ["2026-11-12", 11942.99],
            ["2026-11-13", 14049.52],
            ["2026-11-14", 14661.24],
            ["2026-11-15", 15186.35],
            ["2026-11-16", 12504.66],
            ["2026-11-17", 11446.25],
            ["2026-11-18", 12323.98]
        ]),
    )
}

/// Monthly spend and revenue last quarter.
pub(super) fn monthly_spend_and_revenue() -> Case {
    case(
        r#"{"metrics": ["spend", "revenue"], "dimensions": [{"name": "date", "grain": "month"}], "time_range": {"kind": "previous", "unit": "quarter"}}"#,
        json!([
            ["2026-07-01", 267180.07, 385952.26],
            ["2026-08-01", 319664.14, 471942.41],
            ["2026-09-01", 319708.74, 524314.31]
        ]),
    )
}

/// Installs by campaign last month (the first 40 of 94 rows).
pub(super) fn installs_by_campaign() -> Case {
    case(
        r#"{"metrics": ["installs"], "dimensions": [{"name": "campaign"}], "time_range": {"kind": "previous", "unit": "month"}}"#,
        json!([
            ["Organic", 56507],
            ["TikTok_Android_BR_Broad", 12889],
            ["AppLovin_Android_US_CPE", 6288],
            ["AppLovin_Android_DE_CPE", 4958],
            ["AppLovin_Android_US_ROAS", 4737],
            ["Facebook_iOS_US_Lookalike", 4731],
            ["Facebook_iOS_DE_Lookalike", 4728],
            ["TikTok_iOS_BR_Interest", 4329],
            ["ironSource_iOS_US_ROAS", 3189],
            ["Snapchat_iOS_US_Broad", 3175],
            ["Google_iOS_US_tROAS", 3150],
            ["AppLovin_Android_BR_CPI_2", 3044],
            ["Facebook_iOS_JP_Interest", 2961],
            ["Google_Android_US_tROAS", 2951],
            ["AppleSearchAds_iOS_US_Brand", 2556],
            ["AppleSearchAds_iOS_DE_Generic", 2484],
            ["Google_Android_US_AppEngagement", 2159],
            ["AppLovin_iOS_BR_CPI", 2146],
            ["ironSource_iOS_US_CPI_2", 1997],
            ["UnityAds_Android_US_CPI", 1974],
            ["ironSource_iOS_US_ROAS_2", 1971],
            ["Google_iOS_JP_tROAS", 1891],
            ["Snapchat_Android_JP_Lookalike", 1857],
            ["Google_Android_IN_AppCampaign", 1813],
            ["TikTok_iOS_US_Broad", 1774],
            ["Facebook_iOS_US_Broad", 1742],
            ["AppleSearchAds_iOS_IN_Competitor", 1580],
            ["Facebook_Android_JP_Broad", 1556],
            ["Google_Android_BR_AppCampaign", 1536],
            ["AppLovin_Android_IN_CPI", 1468],
            ["TikTok_iOS_BR_SparkAds", 1430],
            ["Facebook_iOS_US_Interest", 1388],
            ["Facebook_iOS_US_Lookalike_2", 1362],
            ["ironSource_Android_DE_ROAS", 1360],
            ["TikTok_iOS_JP_Broad", 1350],
            ["UnityAds_Android_IN_CPI", 1315],
            ["TikTok_iOS_JP_SparkAds", 1304],
            ["Google_Android_US_tROAS_2", 1267],
            ["Google_Android_GB_AppEngagement", 1245],
            ["AppLovin_iOS_AU_CPI", 1238]
        ]),
    )
}
