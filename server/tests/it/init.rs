//! `quarry init` on small warehouses written here: the draft loads, finds
//! the key, the join, the time column, measures and dimensions, and every
//! plan of `model check`'s sweep runs on it.

use std::path::Path;

use quarry::config::Config;
use quarry::init::{self, Outcome};
use quarry::semantic::Workspace;
use quarry_schema::model::MetricKind;

fn write(dir: &Path, table: &str, csv: &str) {
    let folder = dir.join(table);
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join("part-0.csv"), csv).unwrap();
}

/// customers (key `customerID`, a mixed-case column) and orders (key
/// `order_id`, dated, joined on `customer_id`).
fn shop(dir: &Path) {
    let mut customers = String::from("customerID,Segment,country,signup_date\n");
    let segments = ["Consumer", "Consumer", "Corporate", "Unknown"];
    for i in 0..20 {
        let country = if i % 3 == 0 { "DE" } else { "FR" };
        customers.push_str(&format!(
            "C{i:03},{},{country},2024-01-{:02}\n",
            segments[i % 4],
            i + 1
        ));
    }
    write(dir, "customers", &customers);
    let mut orders = String::from(
        "order_id,customer_id,order_date,status,MonthlyCharges,shipping_fee,quantity\n",
    );
    for i in 0..60 {
        let status = if i % 5 == 0 { "returned" } else { "delivered" };
        orders.push_str(&format!(
            "{},C{:03},2024-02-{:02},{status},{}.5,4.9,{}\n",
            1000 + i,
            i % 20,
            i % 28 + 1,
            20 + i % 7,
            1 + i % 3
        ));
    }
    write(dir, "orders", &orders);
}

/// A snapshot with no date at all, in the style of the telco sample.
fn telco(dir: &Path) {
    let mut subs = String::from("customerID,Contract,MonthlyCharges,RegionCode\n");
    let contracts = ["Month-to-month", "One year", "Two year"];
    for i in 0..30 {
        subs.push_str(&format!(
            "S{i:04},{},{}.25,R{}\n",
            contracts[i % 3],
            30 + i,
            i % 4
        ));
    }
    write(dir, "subscribers", &subs);
    write(
        dir,
        "regions",
        "RegionCode,RegionName\nR0,North\nR1,South\nR2,East\nR3,West\n",
    );
}

async fn drafted(make: fn(&Path)) -> (tempfile::TempDir, tempfile::TempDir) {
    let wh = tempfile::tempdir().unwrap();
    make(wh.path());
    let out = tempfile::tempdir().unwrap();
    init::init(
        wh.path(),
        &Config::default().engine,
        out.path(),
        false,
        &|_| {},
    )
    .await
    .unwrap();
    (wh, out)
}

async fn sweep(wh: &Path, model: &Path) -> init::CheckReport {
    let data = tempfile::tempdir().unwrap();
    let mut cfg = Config::default();
    cfg.warehouse.path = Some(wh.to_path_buf());
    cfg.model.dir = Some(model.to_path_buf());
    cfg.data_dir = data.path().to_path_buf();
    cfg.engine.target_partitions = 2;
    let ws = Workspace::open(&cfg).await.unwrap();
    init::check_all(&ws).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_drafts_a_model_that_loads_and_runs() {
    let (wh, out) = drafted(shop).await;
    let model = quarry_schema::load_dir(out.path()).unwrap_or_else(|e| {
        let text = std::fs::read_to_string(out.path().join("entities.yaml")).unwrap_or_default();
        panic!("the draft does not load:\n{e}\n{text}")
    });

    assert_eq!(model.entities["customers"].primary_key, ["customerID"]);
    assert_eq!(model.entities["orders"].primary_key, ["order_id"]);
    let join = &model.joins["orders"][0];
    assert_eq!(join.to, "customers");
    assert_eq!(join.from_columns, ["customer_id"]);
    assert_eq!(join.to_columns, ["customerID"]);

    let time = model.entities["orders"].time.as_ref().unwrap();
    assert_eq!(time.column, "order_date");
    let as_of = model.as_of.as_ref().unwrap();
    assert_eq!(
        (as_of.entity.as_str(), as_of.column.as_str()),
        ("orders", "order_date")
    );

    for m in [
        "order_count",
        "customer_count",
        "monthly_charges",
        "shipping_fee",
        "quantity",
    ] {
        assert!(
            model.measures.contains_key(m),
            "no measure {m}: {:?}",
            model.measures.keys()
        );
    }
    let charges = model.measures["monthly_charges"].expr.as_ref().unwrap();
    assert_eq!(charges.to_string(), "\"MonthlyCharges\"");
    let text = std::fs::read_to_string(out.path().join("entities.yaml")).unwrap();
    assert!(text.contains("expr: '\"MonthlyCharges\"'"), "{text}");
    assert!(
        text.contains("# check: is this the right primary key?"),
        "{text}"
    );

    let segment = &model.dimensions["segment"];
    assert_eq!(
        segment.sample_values.first().map(String::as_str),
        Some("Consumer")
    );
    let bound: Vec<&str> = segment.bindings.iter().map(|b| b.entity.as_str()).collect();
    assert_eq!(bound, ["customers", "orders"]);
    assert!(model.dimensions.contains_key("status"));
    assert!(model.dimensions.contains_key("country"));
    assert!(!model.dimensions.contains_key("customer_id"));
    let dims = std::fs::read_to_string(out.path().join("dimensions.yaml")).unwrap();
    assert!(
        dims.contains("is 'Unknown' the unattributed value?"),
        "{dims}"
    );

    let ratio = &model.metrics["shipping_fee_per_order"];
    assert!(matches!(ratio.kind, MetricKind::Ratio { .. }));
    assert!(model.metrics["shipping_fee"].cost);

    let report = sweep(wh.path(), out.path()).await;
    let failed: Vec<_> = report.failures().collect();
    assert!(failed.is_empty(), "{failed:#?}");
    assert!(
        report
            .results
            .iter()
            .any(|r| r.metric == "order_count" && r.dimension.as_deref() == Some("segment")),
        "orders are read by the customer's segment through the join"
    );
    assert!(report.results.iter().all(|r| r.outcome == Outcome::Passed));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_without_time_drafts_no_as_of() {
    let (wh, out) = drafted(telco).await;
    let text = std::fs::read_to_string(out.path().join("model.yaml")).unwrap();
    assert!(!text.contains("as_of:"), "{text}");
    let model = quarry_schema::load_dir(out.path()).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert!(model.as_of.is_none());
    assert!(model.entities.values().all(|e| e.time.is_none()));
    assert_eq!(model.entities["subscribers"].primary_key, ["customerID"]);
    assert_eq!(model.entities["regions"].primary_key, ["RegionCode"]);
    assert_eq!(model.joins["subscribers"][0].to, "regions");
    // Keys identify rows: they are not dimensions. The region's name is,
    // read on subscribers through the join.
    assert!(!model.dimensions.contains_key("customer_id"));
    assert!(!model.dimensions.contains_key("region_code"));
    let region = &model.dimensions["region_name"];
    let bound: Vec<(String, String)> = region
        .bindings
        .iter()
        .map(|b| (b.entity.clone(), b.expr.to_string()))
        .collect();
    assert_eq!(
        bound,
        [
            ("regions".to_string(), "\"RegionName\"".to_string()),
            (
                "subscribers".to_string(),
                "regions.\"RegionName\"".to_string()
            )
        ]
    );
    assert!(model.dimensions.contains_key("contract"));
    assert!(model.metrics.contains_key("monthly_charges_per_subscriber"));

    let report = sweep(wh.path(), out.path()).await;
    let failed: Vec<_> = report.failures().collect();
    assert!(failed.is_empty(), "{failed:#?}");
    assert!(report.passed() > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_refuses_to_overwrite_without_force() {
    let (wh, out) = drafted(shop).await;
    let again = init::init(
        wh.path(),
        &Config::default().engine,
        out.path(),
        false,
        &|_| {},
    )
    .await;
    let err = again.expect_err("the files exist").to_string();
    assert!(
        err.contains("already exists") && err.contains("--force"),
        "{err}"
    );
    init::init(
        wh.path(),
        &Config::default().engine,
        out.path(),
        true,
        &|_| {},
    )
    .await
    .unwrap();
}
