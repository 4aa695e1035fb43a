//! Planner tests on the demo model with a fixed lexicon of values: the
//! plans are asserted whole, so a change in reading shows as a diff.

#![allow(clippy::unwrap_used, clippy::panic)]

use std::collections::BTreeMap;

use chrono::NaiveDate;
use quarry_retrieval::docs::{model_documents, value_documents};
use quarry_retrieval::lexical::Lexicon;
use quarry_schema::SemanticModel;
use quarry_schema::query::*;

use super::plan::{Context, Outcome, Planner, Ranked};
use super::read::value_counts;

struct Fixture {
    model: SemanticModel,
    lexicon: Lexicon,
    counts: BTreeMap<String, usize>,
}

fn fixture() -> Fixture {
    let model = quarry_schema::demo_model::load().unwrap();
    let mut values: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut put = |d: &str, v: &[&str]| {
        values.insert(d.into(), v.iter().map(|s| s.to_string()).collect());
    };
    put(
        "network",
        &[
            "Facebook",
            "Google",
            "TikTok",
            "Snapchat",
            "AppLovin",
            "Unity Ads",
            "ironSource",
            "Apple Search Ads",
            "Organic",
        ],
    );
    put("platform", &["iOS", "Android"]);
    put(
        "country",
        &["US", "DE", "GB", "FR", "JP", "BR", "IN", "KR", "CA", "AU"],
    );
    put("acquisition", &["paid", "organic"]);
    put("objective", &["installs", "purchases", "retention"]);
    put("creative_format", &["video", "image", "playable", "native"]);
    put(
        "campaign",
        &[
            "Facebook_iOS_US_Lookalike",
            "Facebook_Android_DE_Lookalike",
            "Google_Android_US_UAC",
            "TikTok_iOS_JP_Broad",
            "Snapchat_iOS_US_Broad",
            "AppLovin_Android_BR_CPI",
            "UnityAds_Android_IN_CPI",
            "ironSource_Android_BR_Offerwall",
            "AppleSearchAds_iOS_US_Brand",
            "Google_iOS_JP_tROAS",
        ],
    );
    let mut docs = model_documents(&model);
    docs.extend(value_documents(&model, &values));
    let lexicon = Lexicon::new(docs);
    let counts = value_counts(&lexicon);
    Fixture {
        model,
        lexicon,
        counts,
    }
}

impl Fixture {
    fn planner(&self) -> Planner<'_> {
        Planner {
            model: &self.model,
            lexicon: &self.lexicon,
            value_counts: &self.counts,
            as_of: NaiveDate::from_ymd_opt(2026, 11, 18).unwrap(),
        }
    }

    fn outcome(&self, q: &str, ctx: &Context) -> Outcome {
        self.planner().plan(q, &[], ctx)
    }

    fn plan(&self, q: &str) -> SemanticQuery {
        self.plan_in(q, &Context::default())
    }

    fn plan_in(&self, q: &str, ctx: &Context) -> SemanticQuery {
        match self.outcome(q, ctx) {
            Outcome::Plan(p) => p.query,
            other => panic!("{q}: expected a plan, got {other:?}"),
        }
    }

    /// Asks the questions in turn, each answered with its plan.
    fn chain(&self, qs: &[&str]) -> Vec<SemanticQuery> {
        let mut ctx = Context::default();
        let mut out = Vec::new();
        for q in qs {
            let p = self.plan_in(q, &ctx);
            ctx.last = Some(p.clone());
            out.push(p);
        }
        out
    }
}

fn q(json: &str) -> SemanticQuery {
    serde_json::from_str::<SemanticQuery>(json)
        .unwrap()
        .canonical()
}

#[test]
fn rankings_filters_and_periods() {
    let f = fixture();
    assert_eq!(
        f.plan("Top 5 iOS campaigns by ROAS last month"),
        q(r#"{"metrics":["roas"],"dimensions":[{"name":"campaign"}],
              "filters":[{"dimension":"platform","op":"in","values":["iOS"]}],
              "time_range":{"kind":"previous","unit":"month"},
              "order":[{"by":"roas","desc":true}],"limit":5}"#)
    );
    assert_eq!(
        f.plan("which 3 networks have the lowest cost per install in the last 30 days"),
        q(r#"{"metrics":["cpi"],"dimensions":[{"name":"network"}],
              "time_range":{"kind":"last_n_days","n":30},
              "order":[{"by":"cpi","desc":false}],"limit":3}"#)
    );
    // Best CPI is the lowest.
    assert_eq!(
        f.plan("best 3 networks by CPI last week"),
        q(r#"{"metrics":["cpi"],"dimensions":[{"name":"network"}],
              "time_range":{"kind":"previous","unit":"week"},
              "order":[{"by":"cpi","desc":false}],"limit":3}"#)
    );
    // The ranked noun is not the measure, even where it names a count too.
    assert_eq!(
        f.plan("Top 5 campaigns by spend this month"),
        q(r#"{"metrics":["spend"],"dimensions":[{"name":"campaign"}],
              "time_range":{"kind":"current","unit":"month"},
              "order":[{"by":"spend","desc":true}],"limit":5}"#)
    );
    assert_eq!(
        f.plan("revenue from paid vs organic users last month"),
        q(
            r#"{"metrics":["revenue"],"dimensions":[{"name":"acquisition"}],
              "filters":[{"dimension":"acquisition","op":"in","values":["organic","paid"]}],
              "time_range":{"kind":"previous","unit":"month"}}"#
        )
    );
    assert_eq!(
        f.plan("which day had the most installs last week"),
        q(
            r#"{"metrics":["installs"],"dimensions":[{"name":"date","grain":"day"}],
              "time_range":{"kind":"previous","unit":"week"},
              "order":[{"by":"installs","desc":true}],"limit":1}"#
        )
    );
}

#[test]
fn negation_thresholds_and_segments() {
    let f = fixture();
    assert_eq!(
        f.plan("installs by network last week excluding Google and TikTok"),
        q(
            r#"{"metrics":["installs"],"dimensions":[{"name":"network"}],
              "filters":[{"dimension":"network","op":"not_in","values":["Google","TikTok"]}],
              "time_range":{"kind":"previous","unit":"week"}}"#
        )
    );
    assert_eq!(
        f.plan("networks with ROAS above 3x in Q3"),
        q(r#"{"metrics":["roas"],"dimensions":[{"name":"network"}],
              "conditions":[{"metric":"roas","op":"gt","value":3.0}],
              "time_range":{"kind":"between","start":"2026-07-01","end":"2026-09-30"}}"#)
    );
    assert_eq!(
        f.plan("countries with CTR under 2% last month"),
        q(r#"{"metrics":["ctr"],"dimensions":[{"name":"country"}],
              "conditions":[{"metric":"ctr","op":"lt","value":0.02}],
              "time_range":{"kind":"previous","unit":"month"}}"#)
    );
    assert_eq!(
        f.plan("compare iOS to Android spend last month"),
        q(r#"{"metrics":["spend"],"dimensions":[{"name":"platform"}],
              "filters":[{"dimension":"platform","op":"in","values":["Android","iOS"]}],
              "time_range":{"kind":"previous","unit":"month"}}"#)
    );
    assert_eq!(
        f.plan("spend on lookalike campaigns last month"),
        q(r#"{"metrics":["spend"],
              "filters":[{"dimension":"campaign","op":"contains","values":["lookalike"]}],
              "time_range":{"kind":"previous","unit":"month"}}"#)
    );
}

#[test]
fn comparisons_and_trends() {
    let f = fixture();
    assert_eq!(
        f.plan("spend this month vs last month"),
        q(
            r#"{"metrics":["spend"],"time_range":{"kind":"current","unit":"month"},
              "compare":{"kind":"previous_period"}}"#
        )
    );
    assert_eq!(
        f.plan("ROAS in October vs September"),
        q(
            r#"{"metrics":["roas"],"time_range":{"kind":"between","start":"2026-10-01","end":"2026-10-31"},
              "compare":{"kind":"previous_period"}}"#
        )
    );
    assert_eq!(
        f.plan("installs week over week"),
        q(
            r#"{"metrics":["installs"],"time_range":{"kind":"previous","unit":"week"},
              "compare":{"kind":"previous_period"}}"#
        )
    );
    assert_eq!(
        f.plan("weekly revenue trend this quarter"),
        q(
            r#"{"metrics":["revenue"],"dimensions":[{"name":"date","grain":"week"}],
              "time_range":{"kind":"current","unit":"quarter"}}"#
        )
    );
    assert_eq!(
        f.plan("installs over the last 2 weeks by day"),
        q(
            r#"{"metrics":["installs"],"dimensions":[{"name":"date","grain":"day"}],
              "time_range":{"kind":"last_n_days","n":14}}"#
        )
    );
}

#[test]
fn follow_ups_build_on_the_last_plan() {
    let f = fixture();
    let plans = f.chain(&[
        "Top 5 iOS campaigns by ROAS last month",
        "what about Android?",
        "and last week?",
        "break it down by country",
    ]);
    assert_eq!(
        plans[1],
        q(r#"{"metrics":["roas"],"dimensions":[{"name":"campaign"}],
              "filters":[{"dimension":"platform","op":"in","values":["Android"]}],
              "time_range":{"kind":"previous","unit":"month"},
              "order":[{"by":"roas","desc":true}],"limit":5}"#)
    );
    assert_eq!(
        plans[2].time_range,
        Some(TimeRange::Previous {
            unit: CalendarUnit::Week,
            n: 1
        })
    );
    assert!(plans[3].dimensions.contains(&DimensionRef::new("country")));
    let plans = f.chain(&["installs by network last week", "just iOS", "now by week"]);
    assert_eq!(
        plans[1].filters,
        vec![Filter {
            dimension: "platform".into(),
            op: FilterOp::In,
            values: vec![Literal::Str("iOS".into())]
        }]
    );
    assert!(
        plans[2]
            .dimensions
            .contains(&DimensionRef::time(TimeGrain::Week))
    );
}

#[test]
fn misspellings_are_read() {
    let f = fixture();
    assert_eq!(f.plan("roass by campaign last month").metrics, vec!["roas"]);
    assert_eq!(
        f.plan("instals on andriod yesterday").filters[0].values,
        vec![Literal::Str("Android".into())]
    );
}

#[test]
fn honest_limits() {
    let f = fixture();
    let ctx = Context::default();
    for q in [
        "how are we doing?",
        "retention by network last month",
        "show me performance by channel",
        "top publishers this month",
        "how did the campaign do yesterday?",
        "what's our conversion rate?",
        "how efficient is our spend?",
    ] {
        assert!(
            matches!(f.outcome(q, &ctx), Outcome::Clarify(ref c) if (2..=4).contains(&c.options.len())),
            "{q}: {:?}",
            f.outcome(q, &ctx)
        );
    }
    for q in [
        "what's the weather in Berlin tomorrow",
        "what are our employees' salaries",
        "delete the TikTok campaigns",
        "drop table installs",
        "set the budget of Facebook_iOS_US_Lookalike to 500",
        "what will revenue be next month",
        "Mark every install from Turbo Phone Cleaner as fraud",
        "flag all installs from publisher 12 as fraud",
    ] {
        assert!(
            matches!(f.outcome(q, &ctx), Outcome::Refuse(_)),
            "{q}: {:?}",
            f.outcome(q, &ctx)
        );
    }
    // An answer to a clarification by its number.
    let Outcome::Clarify(c) = f.outcome("retention by network last month", &ctx) else {
        panic!("expected a clarification");
    };
    let ctx = Context {
        pending: Some(c.clone()),
        ..Context::default()
    };
    assert_eq!(f.plan_in("2", &ctx), c.options[1].query);
}

#[test]
fn populations_and_values_that_share_a_metric_name() {
    let f = fixture();
    // The campaigns the filters select, in total.
    assert_eq!(
        f.plan("ROAS for US iOS campaigns last month"),
        q(r#"{"metrics":["roas"],
              "filters":[{"dimension":"country","op":"in","values":["US"]},
                         {"dimension":"platform","op":"in","values":["iOS"]}],
              "time_range":{"kind":"previous","unit":"month"}}"#)
    );
    assert_eq!(
        f.plan("What's the ROI on our Android campaigns this month?"),
        q(r#"{"metrics":["roas"],
              "filters":[{"dimension":"platform","op":"in","values":["Android"]}],
              "time_range":{"kind":"current","unit":"month"}}"#)
    );
    // Objective values that are also metric names.
    assert_eq!(
        f.plan("What was the ROAS of campaigns optimised for purchases last month?"),
        q(r#"{"metrics":["roas"],
              "filters":[{"dimension":"objective","op":"in","values":["purchases"]}],
              "time_range":{"kind":"previous","unit":"month"}}"#)
    );
    assert_eq!(
        f.plan("D30 retention of installs from retention-objective campaigns in Q3"),
        q(r#"{"metrics":["retention_d30"],
              "filters":[{"dimension":"objective","op":"in","values":["retention"]}],
              "time_range":{"kind":"between","start":"2026-07-01","end":"2026-09-30"}}"#)
    );
    assert_eq!(
        f.plan("installs by objective last month"),
        q(
            r#"{"metrics":["installs"],"dimensions":[{"name":"objective"}],
              "time_range":{"kind":"previous","unit":"month"}}"#
        )
    );
    assert_eq!(
        f.plan("spend on retention campaigns last month"),
        q(r#"{"metrics":["spend"],
              "filters":[{"dimension":"objective","op":"in","values":["retention"]}],
              "time_range":{"kind":"previous","unit":"month"}}"#)
    );
    // "retention" alone is the metric family, and none of the options
    // filters on the objective of the same name.
    let Outcome::Clarify(c) = f.outcome("retention by network last month", &Context::default())
    else {
        panic!("expected a clarification");
    };
    for o in &c.options {
        assert!(o.query.filters.is_empty(), "{o:?}");
        assert!(o.query.metrics[0].starts_with("retention_"), "{o:?}");
    }
    // A ranking of campaigns leaves out the installs no campaign drove: the
    // model names "Organic" the campaign dimension's unattributed value.
    assert_eq!(
        f.plan("Which campaign drove the most installs yesterday?"),
        q(
            r#"{"metrics":["installs"],"dimensions":[{"name":"campaign"}],
              "filters":[{"dimension":"campaign","op":"not_in","values":["Organic"]}],
              "time_range":{"kind":"day","offset":1},
              "order":[{"by":"installs","desc":true}],"limit":1}"#
        )
    );
}

#[test]
fn a_value_word_before_a_metric_qualifies_it() {
    let f = fixture();
    assert_eq!(
        f.plan("revenue from organic users this month"),
        q(r#"{"metrics":["revenue"],
              "filters":[{"dimension":"acquisition","op":"in","values":["organic"]}],
              "time_range":{"kind":"current","unit":"month"}}"#)
    );
    let p = f.plan("which country has the cheapest installs this month");
    assert_eq!(p.metrics, vec!["cpi"]);
    assert_eq!(p.order[0].by, "cpi");
    assert!(!p.order[0].desc);
}

#[test]
fn its_and_their_name_the_members_a_ranking_showed() {
    let f = fixture();
    let worst = f.plan("which publisher had the worst fraud rate this month?");
    assert_eq!(worst.limit, Some(1));
    let ctx = Context {
        ranked: Some(Ranked {
            dimension: "publisher".into(),
            values: vec!["Turbo Phone Cleaner".into()],
        }),
        last: Some(worst),
        ..Context::default()
    };
    let p = f.plan_in("show me its flagged installs by day", &ctx);
    assert_eq!(p.metrics, vec!["flagged_installs"]);
    assert_eq!(p.dimensions, vec![DimensionRef::time(TimeGrain::Day)]);
    assert!(p.filters.contains(&Filter {
        dimension: "publisher".into(),
        op: FilterOp::In,
        values: vec![Literal::Str("Turbo Phone Cleaner".into())]
    }));
    assert_eq!(p.limit, None, "{p:?}");
    assert!(p.order.iter().all(|o| o.by != "fraud_rate"), "{p:?}");

    // Several members keep their column; a question with no new breakdown
    // or period keeps the ranking that picked them.
    let top = f.plan("top 2 campaigns by spend last month");
    let ctx = Context {
        ranked: Some(Ranked {
            dimension: "campaign".into(),
            values: vec![
                "Facebook_iOS_US_Lookalike".into(),
                "Google_Android_US_UAC".into(),
            ],
        }),
        last: Some(top),
        ..Context::default()
    };
    let p = f.plan_in("their installs by week", &ctx);
    assert!(p.dimensions.contains(&DimensionRef::new("campaign")));
    assert_eq!(p.filters[0].values.len(), 2);
    let p = f.plan_in("what's their CPI?", &ctx);
    assert_eq!(p.limit, Some(2));
    assert!(p.metrics.contains(&"cpi".to_string()));
}

#[test]
fn a_numerator_relative_to_its_denominator_is_the_ratio() {
    let f = fixture();
    let p = f.plan(
        "for each network, how much attributed revenue we've earned relative to what we've spent since the beginning of September - basically the return on our ad spend",
    );
    assert_eq!(p.metrics, vec!["roas"]);
    assert_eq!(p.dimensions, vec![DimensionRef::new("network")]);
    assert_eq!(
        f.plan("clicks divided by impressions last week").metrics,
        vec!["ctr"]
    );
    assert_eq!(
        f.plan("revenue per active user in the US last month")
            .metrics,
        vec!["arpu"]
    );
    // A percentage of a count is the rate built on it.
    let p = f.plan("which publishers had more than 10% flagged installs last month");
    assert_eq!(p.metrics, vec!["fraud_rate"]);
    assert_eq!(
        p.conditions,
        vec![Condition {
            metric: "fraud_rate".into(),
            op: CompareOp::Gt,
            value: 0.1
        }]
    );
    // Side by side when no ratio links them.
    assert_eq!(
        f.plan("revenue and spend by network last week").metrics,
        vec!["revenue", "spend"]
    );
}

#[test]
fn shares_divide_by_the_total_over_a_breakdown() {
    let f = fixture();
    let p = f.plan("what percent of installs were organic last month?");
    assert!(p.share, "{p:?}");
    assert_eq!(p.metrics, vec!["installs"]);
    assert_eq!(p.dimensions, vec![DimensionRef::new("acquisition")]);
    assert_eq!(p.filters[0].values, vec![Literal::Str("organic".into())]);
    let p = f.plan("what portion of our spend went to TikTok last month");
    assert!(
        p.share && p.dimensions == vec![DimensionRef::new("network")],
        "{p:?}"
    );
    let p = f.plan("share of spend by network last week");
    assert!(p.share && p.dimensions == vec![DimensionRef::new("network")]);
    // A ratio named by its parts is the ratio, not a share.
    let p = f.plan("what percentage of installs were flagged as fraud last month");
    assert_eq!(
        (p.metrics, p.share),
        (vec!["fraud_rate".to_string()], false)
    );
    // A number before "percent" is a threshold.
    assert!(
        !f.plan("networks with ROAS above 20 percent last month")
            .share
    );
    // Of what total? Asked back.
    let Outcome::Clarify(c) = f.outcome("what share of spend was last month", &Context::default())
    else {
        panic!("expected a clarification");
    };
    assert!(
        c.options
            .iter()
            .all(|o| o.query.share && o.query.dimensions.len() == 1)
    );
    assert!(!c.options.is_empty());
}

#[test]
fn average_daily_is_a_total_over_the_days_not_a_series() {
    let p = fixture();
    for question in [
        "average daily installs last week",
        "what were our installs per day on average last month",
    ] {
        let q = p.plan(question);
        assert!(q.per_day, "{question}: {q:?}");
        assert!(q.dimensions.is_empty(), "{question}: {q:?}");
    }
    // A daily series stays one.
    let q = p.plan("installs by day last week");
    assert!(!q.per_day);
    assert_eq!(q.dimensions.len(), 1);
}
