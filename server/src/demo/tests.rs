//! Tests of the demo generator on tiny warehouses.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use datafusion::arrow::array::{
    Array, BooleanArray, Date32Array, Float64Array, Int32Array, Int64Array, StringArray,
    TimestampMicrosecondArray,
};
use datafusion::arrow::compute::concat_batches;
use datafusion::arrow::datatypes::{DataType, SchemaRef, TimeUnit};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use indicatif::ProgressBar;

use super::*;

const TABLE_NAMES: [&str; 6] = [
    "campaigns",
    "publishers",
    "ad_spend",
    "installs",
    "events",
    "users",
];

fn opts(out: &Path, seed: u64, scale: f64) -> GenerateOptions {
    GenerateOptions {
        scale,
        seed,
        out: out.to_path_buf(),
        end_date: GenerateOptions::default_end_date(),
        days: GenerateOptions::DEFAULT_DAYS,
    }
}

fn gen_tiny(out: &Path, seed: u64) -> Manifest {
    generate(&opts(out, seed, 0.002), &ProgressBar::hidden()).expect("generation succeeds")
}

fn part_files(dir: &Path, table: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join(table))
        .expect("table folder exists")
        .map(|e| e.expect("readable entry").path())
        .collect();
    files.sort();
    files
}

fn read_table(dir: &Path, table: &str) -> (SchemaRef, RecordBatch) {
    let mut schema = None;
    let mut batches = Vec::new();
    for path in part_files(dir, table) {
        let file = File::open(&path).expect("open part file");
        let builder = ParquetRecordBatchReaderBuilder::try_new(file).expect("parquet file");
        schema = Some(builder.schema().clone());
        for b in builder.build().expect("reader") {
            batches.push(b.expect("batch"));
        }
    }
    let schema = schema.expect("at least one part file");
    let all = concat_batches(&schema, &batches).expect("concat");
    (schema, all)
}

fn col<'a, T: 'static>(batch: &'a RecordBatch, name: &str) -> &'a T {
    batch
        .column_by_name(name)
        .expect("column exists")
        .as_any()
        .downcast_ref::<T>()
        .expect("column has the expected type")
}

fn i64s(batch: &RecordBatch, name: &str) -> Vec<Option<i64>> {
    if let Some(a) = batch
        .column_by_name(name)
        .and_then(|c| c.as_any().downcast_ref::<Int64Array>())
    {
        return a.iter().collect();
    }
    col::<TimestampMicrosecondArray>(batch, name)
        .iter()
        .collect()
}

fn strs(batch: &RecordBatch, name: &str) -> Vec<String> {
    col::<StringArray>(batch, name)
        .iter()
        .map(|v| v.expect("non-null string").to_string())
        .collect()
}

fn dates(batch: &RecordBatch, name: &str) -> Vec<Option<i32>> {
    col::<Date32Array>(batch, name).iter().collect()
}

fn expected_schemas() -> BTreeMap<&'static str, Vec<(&'static str, DataType, bool)>> {
    use DataType::*;
    let ts = || Timestamp(TimeUnit::Microsecond, None);
    BTreeMap::from([
        (
            "campaigns",
            vec![
                ("campaign_id", Int64, false),
                ("campaign_name", Utf8, false),
                ("network", Utf8, false),
                ("platform", Utf8, false),
                ("country", Utf8, false),
                ("objective", Utf8, false),
                ("creative_format", Utf8, false),
                ("start_date", Date32, false),
                ("end_date", Date32, true),
                ("daily_budget", Float64, false),
            ],
        ),
        (
            "publishers",
            vec![
                ("publisher_id", Int64, false),
                ("publisher_name", Utf8, false),
                ("network", Utf8, false),
                ("parent_company", Utf8, false),
            ],
        ),
        (
            "ad_spend",
            vec![
                ("date", Date32, false),
                ("campaign_id", Int64, false),
                ("publisher_id", Int64, false),
                ("impressions", Int64, false),
                ("clicks", Int64, false),
                ("spend", Float64, false),
            ],
        ),
        (
            "installs",
            vec![
                ("install_id", Int64, false),
                ("user_id", Int64, false),
                ("campaign_id", Int64, true),
                ("publisher_id", Int64, true),
                ("click_time", ts(), true),
                ("install_time", ts(), false),
                ("platform", Utf8, false),
                ("os_version", Utf8, false),
                ("device_model", Utf8, false),
                ("country", Utf8, false),
                ("ip_hash", Utf8, false),
                ("connection_type", Utf8, false),
                ("is_vpn", Boolean, false),
                ("device_age_days", Int32, false),
                ("is_fraud", Boolean, true),
            ],
        ),
        (
            "events",
            vec![
                ("event_id", Int64, false),
                ("user_id", Int64, false),
                ("event_time", ts(), false),
                ("event_name", Utf8, false),
                ("revenue", Float64, false),
                ("session_seconds", Int32, true),
            ],
        ),
        (
            "users",
            vec![
                ("user_id", Int64, false),
                ("install_id", Int64, false),
                ("first_seen", ts(), false),
                ("platform", Utf8, false),
                ("country", Utf8, false),
                ("age_group", Utf8, false),
                ("acquisition", Utf8, false),
            ],
        ),
    ])
}

fn sql_word(t: &DataType) -> &'static str {
    match t {
        DataType::Int64 => "BIGINT",
        DataType::Utf8 => "VARCHAR",
        DataType::Float64 => "DOUBLE",
        DataType::Date32 => "DATE",
        DataType::Timestamp(_, _) => "TIMESTAMP",
        DataType::Int32 => "INT",
        DataType::Boolean => "BOOLEAN",
        _ => "?",
    }
}

#[test]
fn schemas_and_manifest_match_the_contract() {
    let dir = tempfile::tempdir().expect("tempdir");
    let manifest = gen_tiny(dir.path(), 7);
    let expected = expected_schemas();

    for (table, cols) in &expected {
        let (schema, batch) = read_table(dir.path(), table);
        let got: Vec<(&str, DataType, bool)> = schema
            .fields()
            .iter()
            .map(|f| (f.name().as_str(), f.data_type().clone(), f.is_nullable()))
            .collect();
        assert_eq!(&got, cols, "schema of {table}");
        assert!(batch.num_rows() > 0, "{table} is empty");
        assert_eq!(
            manifest.row_counts.get(*table).copied(),
            Some(batch.num_rows() as u64),
            "row count of {table}"
        );
        let info = manifest
            .tables
            .iter()
            .find(|t| t.name == *table)
            .expect("table in manifest");
        let info_cols: Vec<(String, String, bool)> = info
            .columns
            .iter()
            .map(|c| (c.name.clone(), c.sql_type.clone(), c.nullable))
            .collect();
        let want: Vec<(String, String, bool)> = cols
            .iter()
            .map(|(n, t, null)| (n.to_string(), sql_word(t).to_string(), *null))
            .collect();
        assert_eq!(info_cols, want, "manifest columns of {table}");
        assert_eq!(info.files.len(), part_files(dir.path(), table).len());
    }

    // The manifest on disk is the one returned.
    let text = std::fs::read_to_string(dir.path().join("manifest.json")).expect("manifest");
    let on_disk: Manifest = serde_json::from_str(&text).expect("manifest parses");
    assert_eq!(on_disk, manifest);
    assert!(manifest.generator.starts_with(GENERATOR_NAME));
    assert_eq!(manifest.days, 180);
    assert_eq!(manifest.as_of_date, GenerateOptions::default_end_date());
    assert_eq!(
        manifest.first_date,
        NaiveDate::from_ymd_opt(2026, 5, 23).expect("date")
    );
    assert!((3..=5).contains(&manifest.planted_events.len()));
    let last60 = NaiveDate::from_ymd_opt(2026, 9, 20).expect("date");
    for e in &manifest.planted_events {
        assert!(e.start_date <= e.end_date);
        assert!(
            e.start_date >= last60 && e.end_date <= manifest.as_of_date,
            "{e:?}"
        );
        assert!(!e.dimensions.is_empty());
    }
    // Only our files are left behind.
    let mut entries: Vec<String> = std::fs::read_dir(dir.path())
        .expect("read out")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    entries.sort();
    let mut want: Vec<String> = TABLE_NAMES.iter().map(|s| s.to_string()).collect();
    want.push("manifest.json".into());
    want.sort();
    assert_eq!(entries, want);
}

fn all_bytes(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for table in TABLE_NAMES {
        for path in part_files(dir, table) {
            let key = format!(
                "{table}/{}",
                path.file_name().expect("file name").to_string_lossy()
            );
            out.insert(key, std::fs::read(&path).expect("read part"));
        }
    }
    out.insert(
        "manifest.json".into(),
        std::fs::read(dir.join("manifest.json")).expect("read manifest"),
    );
    out
}

#[test]
fn output_is_deterministic_and_thread_independent() {
    let a = tempfile::tempdir().expect("tempdir");
    let b = tempfile::tempdir().expect("tempdir");
    let c = tempfile::tempdir().expect("tempdir");
    gen_tiny(a.path(), 42);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("pool");
    pool.install(|| gen_tiny(b.path(), 42));
    gen_tiny(c.path(), 43);

    let (ba, bb, bc) = (
        all_bytes(a.path()),
        all_bytes(b.path()),
        all_bytes(c.path()),
    );
    assert_eq!(ba.keys().collect::<Vec<_>>(), bb.keys().collect::<Vec<_>>());
    for (k, v) in &ba {
        assert!(
            bb.get(k) == Some(v),
            "{k} differs between runs with the same seed"
        );
    }
    for table in ["campaigns", "ad_spend", "installs", "events"] {
        let key = format!("{table}/part-00000.parquet");
        assert_ne!(
            ba.get(&key),
            bc.get(&key),
            "{table} identical for different seeds"
        );
    }
}

#[test]
fn data_is_consistent() {
    let dir = tempfile::tempdir().expect("tempdir");
    let m = generate(&opts(dir.path(), 11, 0.004), &ProgressBar::hidden()).expect("generate");
    let d = dir.path();
    let (_, campaigns) = read_table(d, "campaigns");
    let (_, publishers) = read_table(d, "publishers");
    let (_, spend) = read_table(d, "ad_spend");
    let (_, installs) = read_table(d, "installs");
    let (_, users) = read_table(d, "users");
    let (_, events) = read_table(d, "events");

    let first = util::date32(m.first_date);
    let last = util::date32(m.as_of_date);
    let first_us = util::day_start_micros(m.first_date);
    let end_us = first_us + i64::from(m.days) * util::MICROS_PER_DAY;

    // Dimensions.
    let n_campaigns = campaigns.num_rows();
    let n_publishers = publishers.num_rows();
    assert!(
        (100..=150).contains(&n_campaigns),
        "{n_campaigns} campaigns"
    );
    assert!(
        (60..=100).contains(&n_publishers),
        "{n_publishers} publishers"
    );
    let pub_names: HashSet<String> = strs(&publishers, "publisher_name").into_iter().collect();
    assert_eq!(pub_names.len(), n_publishers, "publisher names unique");
    let pub_network: HashMap<i64, String> = i64s(&publishers, "publisher_id")
        .into_iter()
        .map(|v| v.expect("id"))
        .zip(strs(&publishers, "network"))
        .collect();
    struct C {
        network: String,
        platform: String,
        country: String,
        start: i32,
        end: Option<i32>,
    }
    let mut camp: HashMap<i64, C> = HashMap::new();
    let networks = [
        "Facebook",
        "Google",
        "TikTok",
        "Snapchat",
        "AppLovin",
        "Unity Ads",
        "ironSource",
        "Apple Search Ads",
    ];
    let cnames = strs(&campaigns, "campaign_name");
    for (i, id) in i64s(&campaigns, "campaign_id").into_iter().enumerate() {
        let c = C {
            network: strs(&campaigns, "network")[i].clone(),
            platform: strs(&campaigns, "platform")[i].clone(),
            country: strs(&campaigns, "country")[i].clone(),
            start: dates(&campaigns, "start_date")[i].expect("start"),
            end: dates(&campaigns, "end_date")[i],
        };
        assert!(networks.contains(&c.network.as_str()));
        assert!(c.platform == "iOS" || c.platform == "Android");
        if c.network == "Apple Search Ads" {
            assert_eq!(c.platform, "iOS");
        }
        let compact = c.network.replace(' ', "");
        assert!(
            cnames[i].starts_with(&format!("{compact}_{}_{}_", c.platform, c.country)),
            "{}",
            cnames[i]
        );
        if let Some(e) = c.end {
            assert!(e >= c.start && e < last);
        }
        assert!(col::<Float64Array>(&campaigns, "daily_budget").value(i) > 0.0);
        camp.insert(id.expect("id"), c);
    }
    assert!(camp.values().any(|c| c.end.is_some()));
    assert!(camp.values().any(|c| c.end.is_none()));

    // ad_spend: unique keys, only while running, clicks <= impressions.
    let mut keys = HashSet::new();
    let mut clicked: HashSet<(i32, i64, i64)> = HashSet::new();
    let sd = dates(&spend, "date");
    let sc = i64s(&spend, "campaign_id");
    let sp = i64s(&spend, "publisher_id");
    let imps = i64s(&spend, "impressions");
    let clicks = i64s(&spend, "clicks");
    let spend_v = col::<Float64Array>(&spend, "spend");
    let mut max_date = i32::MIN;
    for i in 0..spend.num_rows() {
        let (date, c, p) = (sd[i].expect("date"), sc[i].expect("c"), sp[i].expect("p"));
        assert!(keys.insert((date, c, p)), "duplicate ad_spend row");
        assert!(date >= first && date <= last);
        max_date = max_date.max(date);
        let cc = camp.get(&c).expect("campaign exists");
        assert!(cc.start <= date && date <= cc.end.unwrap_or(last));
        assert_eq!(pub_network.get(&p), Some(&cc.network));
        let (im, cl) = (imps[i].expect("imps"), clicks[i].expect("clicks"));
        assert!(0 <= cl && cl <= im);
        let s = spend_v.value(i);
        assert!(s >= 0.0 && (s * 100.0 - (s * 100.0).round()).abs() < 1e-6);
        if cl > 0 {
            clicked.insert((date, c, p));
        }
    }
    assert_eq!(max_date, last);
    assert!(sd.contains(&Some(first)));

    // Installs.
    let n = installs.num_rows();
    let iid = i64s(&installs, "install_id");
    let uid = i64s(&installs, "user_id");
    let ic = i64s(&installs, "campaign_id");
    let ip = i64s(&installs, "publisher_id");
    let click = i64s(&installs, "click_time");
    let itime = i64s(&installs, "install_time");
    let iplat = strs(&installs, "platform");
    let icountry = strs(&installs, "country");
    let conn = strs(&installs, "connection_type");
    let fraud = col::<BooleanArray>(&installs, "is_fraud");
    let age = col::<Int32Array>(&installs, "device_age_days");
    let mut uids = HashSet::new();
    let mut install_of: HashMap<i64, (i64, i64, String, String)> = HashMap::new();
    let mut organic = 0usize;
    let mut reviewed = 0usize;
    for i in 0..n {
        let u = uid[i].expect("user");
        assert!(uids.insert(u), "duplicate user_id");
        let t = itime[i].expect("install_time");
        assert!(t >= first_us && t < end_us);
        assert!(age.value(i) >= 0);
        assert!(conn[i] == "wifi" || conn[i] == "cellular");
        reviewed += usize::from(!fraud.is_null(i));
        match (ic[i], ip[i], click[i]) {
            (Some(c), Some(p), Some(ct)) => {
                let cc = camp.get(&c).expect("campaign exists");
                assert_eq!(pub_network.get(&p), Some(&cc.network));
                assert_eq!(iplat[i], cc.platform);
                assert_eq!(icountry[i], cc.country);
                assert!(ct < t, "click_time < install_time");
                let day = (t.div_euclid(util::MICROS_PER_DAY)) as i32;
                assert!(
                    clicked.contains(&(day, c, p)),
                    "install without clicks that day"
                );
            }
            other => {
                assert_eq!(other, (None, None, None), "mixed paid/organic install");
                organic += 1;
            }
        }
        install_of.insert(
            u,
            (
                iid[i].expect("id"),
                t,
                iplat[i].clone(),
                icountry[i].clone(),
            ),
        );
    }
    let organic_share = organic as f64 / n as f64;
    assert!(
        (0.2..0.4).contains(&organic_share),
        "organic share {organic_share}"
    );
    let review_share = reviewed as f64 / n as f64;
    assert!(
        (0.05..0.25).contains(&review_share),
        "review share {review_share}"
    );
    let ids: HashSet<i64> = iid.iter().map(|v| v.expect("id")).collect();
    assert_eq!(ids.len(), n);

    // Users: one per install, matching.
    assert_eq!(users.num_rows(), n);
    let u_uid = i64s(&users, "user_id");
    let u_iid = i64s(&users, "install_id");
    let u_seen = i64s(&users, "first_seen");
    let u_plat = strs(&users, "platform");
    let u_country = strs(&users, "country");
    let u_acq = strs(&users, "acquisition");
    let mut seen_users = HashSet::new();
    for i in 0..users.num_rows() {
        let u = u_uid[i].expect("uid");
        assert!(seen_users.insert(u));
        let (inst, t, plat, country) = install_of.get(&u).expect("user has install");
        assert_eq!(u_iid[i], Some(*inst));
        assert_eq!(u_seen[i], Some(*t));
        assert_eq!(&u_plat[i], plat);
        assert_eq!(&u_country[i], country);
        assert!(u_acq[i] == "paid" || u_acq[i] == "organic");
    }

    // Events.
    let e_id = i64s(&events, "event_id");
    let e_uid = i64s(&events, "user_id");
    let e_time = i64s(&events, "event_time");
    let e_name = strs(&events, "event_name");
    let e_rev = col::<Float64Array>(&events, "revenue");
    let e_sess = col::<Int32Array>(&events, "session_seconds");
    let names = [
        "session_start",
        "tutorial_complete",
        "add_to_cart",
        "purchase",
        "subscription_start",
        "subscription_renewal",
    ];
    let mut event_ids = HashSet::new();
    let mut by_name: HashMap<&str, usize> = HashMap::new();
    for i in 0..events.num_rows() {
        assert!(event_ids.insert(e_id[i].expect("id")));
        let u = e_uid[i].expect("uid");
        let t = e_time[i].expect("time");
        let (_, install_time, _, _) = install_of.get(&u).expect("event user exists");
        assert!(t >= *install_time && t < end_us, "event time out of range");
        let name = e_name[i].as_str();
        assert!(names.contains(&name), "{name}");
        *by_name
            .entry(names[names.iter().position(|n| *n == name).unwrap_or(0)])
            .or_default() += 1;
        let r = e_rev.value(i);
        let paying = matches!(
            name,
            "purchase" | "subscription_start" | "subscription_renewal"
        );
        if paying {
            assert!(
                r > 0.0 && (r * 100.0 - (r * 100.0).round()).abs() < 1e-6,
                "{r}"
            );
        } else {
            assert_eq!(r, 0.0);
        }
        assert_eq!(name == "session_start", !e_sess.is_null(i));
        if name == "session_start" {
            assert!(e_sess.value(i) > 0);
        }
    }
    for name in [
        "session_start",
        "tutorial_complete",
        "add_to_cart",
        "purchase",
    ] {
        assert!(
            by_name.get(name).copied().unwrap_or(0) > 0,
            "no {name} events"
        );
    }
    let per_user = events.num_rows() as f64 / n as f64;
    assert!(
        (4.0..20.0).contains(&per_user),
        "{per_user} events per user"
    );
}

#[test]
fn rejects_bad_options() {
    let dir = tempfile::tempdir().expect("tempdir");
    for scale in [0.0, -1.0, 100.5, f64::NAN, f64::INFINITY] {
        let err = generate(&opts(dir.path(), 1, scale), &ProgressBar::hidden())
            .expect_err("bad scale rejected");
        assert!(matches!(err, DemoError::InvalidScale { .. }), "{err}");
        assert!(err.to_string().contains("scale"));
    }
    let mut o = opts(dir.path(), 1, 0.01);
    o.days = 0;
    let err = generate(&o, &ProgressBar::hidden()).expect_err("zero days rejected");
    assert!(matches!(err, DemoError::InvalidDays { .. }), "{err}");
    // Nothing was written.
    assert_eq!(std::fs::read_dir(dir.path()).expect("read").count(), 0);
}

#[test]
fn refuses_foreign_directories_and_overwrites_its_own() {
    // A non-empty directory without a manifest is left alone.
    let dir = tempfile::tempdir().expect("tempdir");
    let notes = dir.path().join("notes.txt");
    std::fs::write(&notes, "keep me").expect("write");
    let err = generate(&opts(dir.path(), 1, 0.002), &ProgressBar::hidden())
        .expect_err("refuses non-empty dir");
    assert!(matches!(err, DemoError::DirectoryNotEmpty { .. }), "{err}");
    assert!(err.to_string().contains("not empty"));
    assert_eq!(std::fs::read_to_string(&notes).expect("kept"), "keep me");
    assert_eq!(std::fs::read_dir(dir.path()).expect("read").count(), 1);

    // Somebody else's manifest.json.
    let other = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        other.path().join("manifest.json"),
        r#"{"generator":"other"}"#,
    )
    .expect("write");
    let err = generate(&opts(other.path(), 1, 0.002), &ProgressBar::hidden())
        .expect_err("refuses foreign manifest");
    assert!(matches!(err, DemoError::ForeignManifest { .. }), "{err}");

    // A file path is not a directory.
    let err =
        generate(&opts(&notes, 1, 0.002), &ProgressBar::hidden()).expect_err("refuses a file");
    assert!(matches!(err, DemoError::NotADirectory { .. }), "{err}");

    // Our own output is overwritten in place; unrelated files survive.
    let ours = tempfile::tempdir().expect("tempdir");
    let out = ours.path().join("warehouse");
    gen_tiny(&out, 1);
    std::fs::write(out.join("README.txt"), "mine").expect("write");
    let m = gen_tiny(&out, 2);
    assert_eq!(m.seed, 2);
    assert_eq!(
        std::fs::read_to_string(out.join("README.txt")).expect("kept"),
        "mine"
    );
    assert!(!out.join(write::STAGING_DIR).exists());

    // A foreign file inside one of our table folders stops the run.
    std::fs::write(out.join("installs").join("extra.csv"), "x").expect("write");
    let err = generate(&opts(&out, 3, 0.002), &ProgressBar::hidden())
        .expect_err("refuses unexpected file");
    assert!(matches!(err, DemoError::UnexpectedFile { .. }), "{err}");
    assert!(out.join("installs").join("extra.csv").exists());

    // An interrupted run (tables but no manifest yet) can be regenerated.
    let interrupted = tempfile::tempdir().expect("tempdir");
    gen_tiny(interrupted.path(), 5);
    std::fs::remove_file(interrupted.path().join("manifest.json")).expect("remove");
    std::fs::create_dir_all(interrupted.path().join(write::STAGING_DIR).join("events"))
        .expect("mkdir");
    gen_tiny(interrupted.path(), 5);
    assert!(interrupted.path().join("manifest.json").exists());
}

#[test]
fn short_windows_work() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut o = opts(dir.path(), 3, 0.01);
    o.days = 1;
    let m = generate(&o, &ProgressBar::hidden()).expect("one day");
    assert_eq!(m.first_date, m.as_of_date);
    let (_, spend) = read_table(dir.path(), "ad_spend");
    assert!(spend.num_rows() > 0);
    assert!(m.row_counts.get("installs").copied().unwrap_or(0) > 0);
}
