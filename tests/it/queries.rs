//! The KPI library on a hand-made warehouse (`tests/fixtures/mini`), and the
//! read-only guarantees of `aftersight sql`.
//!
//! Every expected row below was worked out by hand from the fixture's rows;
//! the working is in the comments.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use aftersight::sql::{self, SessionSettings, library};

use crate::support::{aftersight, assert_rows, repo_root, rows};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Ingests the fixture into a fresh warehouse.
fn mini_warehouse(dir: &Path) -> PathBuf {
    crate::support::ingest_clean(&root().join("tests/fixtures/mini"), &dir.join("wh"))
}

fn run_query(wh: &Path, name: &str, params: &[(&str, &str)]) -> Vec<Vec<String>> {
    let q = library::find(&root().join("queries"), name).unwrap();
    let given: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let bound = q.bind(&given).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let ctx = sql::open(wh, &SessionSettings::default()).await.unwrap();
        rows(&sql::query(&ctx, &q.sql, bound).await.unwrap())
    })
}

#[test]
fn the_embedded_library_is_the_queries_folder() {
    let folder = library::load(&root().join("queries")).unwrap();
    let embedded = library::embedded().unwrap();
    let texts = |qs: &[library::QueryFile]| {
        qs.iter()
            .map(|q| (q.name.clone(), q.sql.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        texts(&embedded),
        texts(&folder),
        "update library::EMBEDDED after adding or editing a query"
    );
}

#[test]
fn kpis_match_the_hand_worked_answers() {
    let tmp = tempfile::tempdir().unwrap();
    let wh = mini_warehouse(tmp.path());
    let mut cases: HashMap<&str, Vec<&[&str]>> = HashMap::new();
    // Sep ST1: RO1 200/300, RO2 440/500, RO3 220/0 -> 860 + 800 = 1660, parts share 800/1660.
    // Sep ST2: RO4 225/250, RO5 450/900 -> 675 + 1150 = 1825, 1150/1825.
    // Oct ST1: RO8 1100/4000, RO10 220/350 -> 1320 + 4350 = 5670, 4350/5670.
    // Oct ST2: RO6 300/100, RO7 150/200, RO9 75/650 -> 525 + 950 = 1475, 950/1475.
    cases.insert(
        "repair_volume_by_month",
        vec![
            &[
                "2026-09",
                "ST000001",
                "上海浦东比亚迪4S店",
                "3",
                "860",
                "800",
                "1660",
                "0.4819",
            ],
            &[
                "2026-09",
                "ST000002",
                "速驰快修(浦东店)",
                "2",
                "675",
                "1150",
                "1825",
                "0.6301",
            ],
            &[
                "2026-10",
                "ST000001",
                "上海浦东比亚迪4S店",
                "2",
                "1320",
                "4350",
                "5670",
                "0.7672",
            ],
            &[
                "2026-10",
                "ST000002",
                "速驰快修(浦东店)",
                "3",
                "525",
                "950",
                "1475",
                "0.6441",
            ],
        ],
    );
    // Customer pay only. ST1: RO1 (1.0 h, 200). ST2: RO4, RO5, RO6, RO7, RO9: 8.0 h, 1200 CNY, 5 orders.
    cases.insert(
        "effective_labour_rate",
        vec![
            &["ST000001", "AAA", "1", "1.0", "200", "200", "1.0"],
            &["ST000002", "A", "5", "8.0", "1200", "150", "1.6"],
        ],
    );
    // ST1: RO2 (brake pads, closed 09-11) comes back as RO3 on 09-25; RO3 has no later repair.
    // ST2: RO5 water pump closed 09-22, RO6 opens 10-30 (38 days: not a comeback); RO9 alone.
    cases.insert(
        "comeback_rate",
        vec![
            &["ST000001", "AAA", "2", "1", "0.5", "0.5"],
            &["ST000002", "A", "3", "0", "0", "1"],
        ],
    );
    // ST1: S1 (all 9, recommend 10: promoter), S2 (4,5,6,7,3; recommend 2: detractor) -> means 6.5 7 7.5 8 6, CSI 7, NPS 0.
    // ST2: S3 (8,8,7,8,8; recommend 9: promoter) -> CSI 7.8, NPS 100.
    cases.insert(
        "csi_nps",
        vec![
            &[
                "ST000001", "AAA", "2", "6.5", "7", "7.5", "8", "6", "7", "0",
            ],
            &["ST000002", "A", "1", "8", "8", "7", "8", "8", "7.8", "100"],
        ],
    );
    // T1: dealer, 80,000, financed, certified, 12 months extended. T2: online direct, 60,000, none of those.
    cases.insert(
        "used_car_sales_by_channel",
        vec![
            &["dealer", "1", "80000", "1", "1", "1"],
            &["online_direct", "1", "60000", "0", "0", "0"],
        ],
    );
    // Hours open to close: RO1 2, RO4 2, RO7 1.5 (maintenance, promise 4 h); RO5 48, RO6 4, RO9 2 (repair, 24 h);
    // RO2 24, RO3 6 (warranty, 24 h); RO8 120 (insurance, 72 h); RO10 1 (recall, 4 h).
    cases.insert(
        "turnaround",
        vec![
            &["insurance", "1", "120", "120", "120", "0"],
            &["maintenance", "3", "2", "1.83", "2", "1"],
            &["recall", "1", "1", "1", "1", "1"],
            &["repair", "3", "4", "18", "48", "0.6667"],
            &["warranty", "2", "15", "15", "24", "1"],
        ],
    );
    // One vehicle per model, in service from registration to the end of the data (2026-10-31, the day after
    // RO6): Qin PLUS 2023-09-01 (1156 days = 3.16 years), Lavida 2022-08-01 (1552 = 4.25), Corolla 2021-06-01
    // (1978 = 5.42). Qin: WC1 approved 940 and WC2 rejected -> 2 / 3.165 years = 63.19 per 100, 297.00 per
    // vehicle-year, 0.5 / 0.5. Corolla and Lavida: no claims, so no approval or rejection rate.
    cases.insert(
        "warranty_claim_rate",
        vec![
            &[
                "BYD", "Qin PLUS", "2024", "1", "3.16", "2", "63.19", "297", "0.5", "0.5",
            ],
            &[
                "Toyota", "Corolla", "2022", "1", "5.42", "0", "0", "0", "", "",
            ],
            &[
                "Volkswagen",
                "Lavida",
                "2023",
                "1",
                "4.25",
                "0",
                "0",
                "0",
                "",
                "",
            ],
        ],
    );
    // Repairs and warranty only: water pump RO5 (1350) + RO6 (400); brake pads RO2 (940) + RO3 (220); battery RO9 (725).
    cases.insert(
        "top_failing_components",
        vec![
            &["water_pump", "2", "1", "1750"],
            &["brake_pads", "2", "1", "1160"],
            &["battery_12v", "1", "1", "725"],
        ],
    );
    // As of 2026-10-31 (the day after the last visit, RO6 on 10-30).
    // C1: RO1 500, RO2 940, RO3 220, RO8 5100, RO9 725, RO10 570 -> 6 visits, 8055 CNY, last 10-28 (3 days).
    // C2: RO4 475 -> 1 visit, last 09-05 (56 days). C3: RO5 1350, RO7 350, RO6 400 -> 3 visits, 2100, last 10-30 (1 day).
    // Quintiles of three customers are 1, 2, 3: R by recency descending C2 C1 C3; F and M ascending C2 C3 C1.
    cases.insert(
        "rfm_scores",
        vec![
            &["C00000001", "3", "6", "8055", "2", "3", "3", "233"],
            &["C00000002", "56", "1", "475", "1", "1", "1", "111"],
            &["C00000003", "1", "3", "2100", "3", "2", "2", "322"],
        ],
    );
    // T1: Lavida registered 2022-08-01, sold 2026-09-15 (1506 days = 4.1 years) at 40,000 km for 80,000.
    // T2: Corolla registered 2021-06-01, sold 2026-10-10 (1957 days = 5.4 years) at 60,000 km for 60,000.
    cases.insert(
        "used_car_price_by_age_mileage",
        vec![&["4", "40000", "1", "80000"], &["5", "60000", "1", "60000"]],
    );
    // ST1: comeback rate 0.5, CSI 7.0, on time 4 of 5 (RO8 insurance took 120 h > 72 h):
    //      40 * 0.5 + 40 * 0.7 + 20 * 0.8 = 64 -> A.
    // ST2: no comebacks, CSI 7.8, on time 4 of 5 (RO5 repair took 48 h > 24 h): 40 + 31.2 + 16 = 87.2 -> AAA.
    cases.insert(
        "station_scorecard",
        vec![
            &["ST000002", "A", "0", "7.8", "0.8", "87.2", "AAA"],
            &["ST000001", "AAA", "0.5", "7", "0.8", "64", "A"],
        ],
    );
    // Data end 2026-10-30. Observed months: Qin 2023-09-01 -> 37, Lavida 2022-08-01 -> 50, Corolla 2021-06-01 -> 64.
    // Repairs: RO2, RO3 (Qin, 2026-09-10/25) at MIS 36; RO5 (Lavida, 09-20) 49; RO6 (Lavida, 10-30) 50;
    // RO9 (Corolla, 10-20) 64. Observed at 36: all 3; at 49 and 50: Lavida and Corolla; at 64: Corolla.
    cases.insert(
        "iptv_by_mis",
        vec![
            &["36", "2", "3", "666.67"],
            &["49", "1", "2", "500"],
            &["50", "1", "2", "500"],
            &["64", "1", "1", "1000"],
        ],
    );
    // As of 2026-10-31 every customer (all first seen in 2026) visited within 6 months.
    cases.insert("retention_by_cohort", vec![&["2026", "3", "1", "0", "0"]]);
    // Bands: maintenance 2, 2, 1.5 h -> two in 2-4 h, one under 2 h; repair 48 h (1-3 days), 4 h (4-8 h), 2 h (2-4 h);
    // warranty 24 h (1-3 days), 6 h (4-8 h); insurance 120 h (over 3 days); recall 1 h (under 2 h).
    cases.insert(
        "turnaround_histogram",
        vec![
            &["insurance", "6", "over 3 days", "1", "1"],
            &["maintenance", "1", "under 2 h", "1", "0.3333"],
            &["maintenance", "2", "2-4 h", "2", "0.6667"],
            &["recall", "1", "under 2 h", "1", "1"],
            &["repair", "2", "2-4 h", "1", "0.3333"],
            &["repair", "3", "4-8 h", "1", "0.3333"],
            &["repair", "5", "1-3 days", "1", "0.3333"],
            &["warranty", "3", "4-8 h", "1", "0.5"],
            &["warranty", "5", "1-3 days", "1", "0.5"],
        ],
    );
    // All time. Revenue: the four month totals 1660 + 1825 + 5670 + 1475. Labour rate: maintenance and repair
    // RO1 RO4 RO5 RO6 RO7 RO9, 1400 CNY over 9.0 h. Comebacks: RO2 of RO2 RO3 RO5 RO6 RO9. On time: 8 of 10 (RO5
    // and RO8 late). CSI: S1 9, S2 5, S3 7.8 -> 7.27; NPS: two promoters, one detractor of three -> 33.3.
    cases.insert(
        "headline_kpis",
        vec![
            &[
                "1",
                "repair_orders",
                "Repair orders",
                "维修工单",
                "10",
                "",
                "up",
            ],
            &[
                "2",
                "revenue_cny",
                "Workshop revenue",
                "维修产值",
                "10630",
                "CNY",
                "up",
            ],
            &[
                "3",
                "effective_labour_rate",
                "Effective labour rate",
                "有效工时单价",
                "155.56",
                "CNY/h",
                "up",
            ],
            &[
                "4",
                "comeback_rate",
                "Comeback rate (30 days)",
                "30天返修率",
                "0.2",
                "%",
                "down",
            ],
            &[
                "5",
                "on_time_share",
                "Finished on time",
                "按时交车率",
                "0.8",
                "%",
                "up",
            ],
            &[
                "6",
                "warranty_claims",
                "Warranty claims",
                "保修索赔",
                "2",
                "",
                "down",
            ],
            &[
                "7",
                "csi",
                "Satisfaction (CSI, 1-10)",
                "客户满意度（CSI）",
                "7.27",
                "",
                "up",
            ],
            &[
                "8",
                "nps",
                "Net promoter score",
                "净推荐值（NPS）",
                "33.3",
                "pt",
                "up",
            ],
            &[
                "9",
                "used_car_sales",
                "Used-car sales",
                "二手车销量",
                "2",
                "",
                "up",
            ],
        ],
    );
    // Each model year has one vehicle, so every cohort is its own peer group: expected = observed, z = 0, and
    // no cohort reaches the default 3 repairs (Qin brake pads 2, Lavida water pump 2, Corolla battery 1).
    cases.insert("emerging_quality_risks", vec![]);
    let mut covered: Vec<&str> = cases.keys().copied().collect();
    covered.sort_unstable();
    let library: Vec<String> = library::load(&root().join("queries"))
        .unwrap()
        .into_iter()
        .map(|q| q.name)
        .collect();
    assert_eq!(
        covered, library,
        "every library query needs a hand-worked case here"
    );
    for (name, expected) in cases {
        assert_rows(name, &run_query(&wh, name, &[]), &expected);
    }
    // In 2021 only the Corolla was on the road, from 2021-06-01: 214 days = 0.59 vehicle-years.
    assert_rows(
        "warranty_claim_rate 2021",
        &run_query(
            &wh,
            "warranty_claim_rate",
            &[("start", "2021-01-01"), ("end", "2022-01-01")],
        ),
        &[&[
            "Toyota", "Corolla", "2022", "1", "0.59", "0", "0", "0", "", "",
        ]],
    );
    // In September 2026 each vehicle adds 30 days (0.0821 years); both Qin claims fall in it:
    // 2 claims in 0.0821 vehicle-years = 2435 per 100 vehicle-years, 940 × 365.25 / 30 = 11444.50 CNY per vehicle-year.
    assert_rows(
        "warranty_claim_rate 2026-09",
        &run_query(
            &wh,
            "warranty_claim_rate",
            &[("start", "2026-09-01"), ("end", "2026-10-01")],
        )[..1],
        &[&[
            "BYD", "Qin PLUS", "2024", "1", "0.08", "2", "2435", "11444.5", "0.5", "0.5",
        ]],
    );

    // Up to MIS 40 only the Qin's two brake-pad repairs count.
    assert_rows(
        "iptv_by_mis 40",
        &run_query(&wh, "iptv_by_mis", &[("max_mis", "40")]),
        &[&["36", "2", "3", "666.67"]],
    );
    // As of 2026-09-06, C2's visit of 09-05 and C1's of 09-02 are in, C3's first visit (09-20) is not yet.
    assert_rows(
        "retention_by_cohort 09-06",
        &run_query(&wh, "retention_by_cohort", &[("end", "2026-09-06")]),
        &[&["2026", "2", "1", "0", "0"]],
    );
    // With one repair enough, all three cohorts show, at the peer rate, worst z first (ties by name).
    assert_rows(
        "emerging_quality_risks 1",
        &run_query(&wh, "emerging_quality_risks", &[("min_repairs", "1")]),
        &[
            &[
                "BYD",
                "Qin PLUS",
                "2024",
                "brake_pads",
                "1",
                "2",
                "2",
                "1",
                "0",
                "",
            ],
            &[
                "Toyota",
                "Corolla",
                "2022",
                "battery_12v",
                "1",
                "1",
                "1",
                "1",
                "0",
                "",
            ],
            &[
                "Volkswagen",
                "Lavida",
                "2023",
                "water_pump",
                "1",
                "2",
                "2",
                "1",
                "0",
                "",
            ],
        ],
    );
    // October against the year before: the Lavida's water pump (RO6) is back after RO5 in September, a rate of
    // 1 in 31 days against 1 in 365 -> trend 11.77.
    assert_rows(
        "emerging_quality_risks october",
        &run_query(
            &wh,
            "emerging_quality_risks",
            &[
                ("start", "2026-10-01"),
                ("end", "2026-11-01"),
                ("min_repairs", "1"),
            ],
        ),
        &[
            &[
                "Toyota",
                "Corolla",
                "2022",
                "battery_12v",
                "1",
                "1",
                "1",
                "1",
                "0",
                "",
            ],
            &[
                "Volkswagen",
                "Lavida",
                "2023",
                "water_pump",
                "1",
                "1",
                "1",
                "1",
                "0",
                "11.77",
            ],
        ],
    );
    let top_one = run_query(&wh, "top_failing_components", &[("top", "1")]);
    assert_eq!(top_one.len(), 1);
    // Parameters narrow the window: October only.
    let october = run_query(&wh, "repair_volume_by_month", &[("start", "2026-10-01")]);
    assert_eq!(
        october.iter().map(|r| r[0].as_str()).collect::<Vec<_>>(),
        ["2026-10", "2026-10"]
    );
}

#[test]
fn sql_is_read_only_and_parameters_stay_values() {
    let tmp = tempfile::tempdir().unwrap();
    let wh = mini_warehouse(tmp.path());
    let wh = wh.to_str().unwrap();
    let outside = tmp.path().join("stolen.csv");
    let refused = [
        "CREATE TABLE x AS SELECT 1".to_owned(),
        format!("COPY repair_orders TO '{}'", outside.display()),
        "INSERT INTO stations SELECT * FROM stations".to_owned(),
        format!(
            "CREATE EXTERNAL TABLE t STORED AS CSV LOCATION '{}'",
            root().join("Cargo.toml").display()
        ),
        "SET datafusion.execution.batch_size = 1".to_owned(),
        "DROP TABLE stations".to_owned(),
    ];
    for statement in &refused {
        let out = aftersight(&repo_root(), &["sql", "--warehouse", wh, statement], &[]);
        assert_eq!(out.status.code(), Some(1), "{statement}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("read-only") || stderr.contains("not supported"),
            "{statement}: {stderr}"
        );
    }
    assert!(
        !outside.exists(),
        "nothing was written outside the warehouse"
    );

    let injected = aftersight(
        &repo_root(),
        &[
            "sql",
            "--warehouse",
            wh,
            "--format",
            "csv",
            "SELECT count(*) AS n FROM stations WHERE name = $name",
            "--param",
            "name=x' OR '1'='1",
        ],
        &[],
    );
    assert!(
        injected.status.success(),
        "{}",
        String::from_utf8_lossy(&injected.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&injected.stdout),
        "n\n0\n",
        "the quote is part of the value"
    );

    let named = aftersight(
        &repo_root(),
        &[
            "sql",
            "--warehouse",
            wh,
            "--query",
            "effective_labour_rate",
            "--format",
            "json",
        ],
        &[],
    );
    assert!(
        named.status.success(),
        "{}",
        String::from_utf8_lossy(&named.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&named.stdout).unwrap();
    assert_eq!(json[1]["effective_labour_rate"], 150.0);

    let bad_param = aftersight(
        &repo_root(),
        &[
            "sql",
            "--warehouse",
            wh,
            "--query",
            "comeback_rate",
            "--param",
            "start=last week",
        ],
        &[],
    );
    assert_eq!(bad_param.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad_param.stderr).contains("parameter `start`"));

    // A library file given with -f binds its header's defaults, like --query.
    let file = root().join("queries/effective_labour_rate.sql");
    let from_file = aftersight(
        &repo_root(),
        &[
            "sql",
            "--warehouse",
            wh,
            "-f",
            file.to_str().unwrap(),
            "--format",
            "json",
        ],
        &[],
    );
    assert!(
        from_file.status.success(),
        "{}",
        String::from_utf8_lossy(&from_file.stderr)
    );
    assert_eq!(from_file.stdout, named.stdout);
    // A placeholder without a value is named, with how to pass it.
    let unbound = tmp.path().join("mine.sql");
    std::fs::write(
        &unbound,
        "SELECT count(*) FROM repair_orders WHERE opened_at >= $start",
    )
    .unwrap();
    let missing = aftersight(
        &repo_root(),
        &["sql", "--warehouse", wh, "-f", unbound.to_str().unwrap()],
        &[],
    );
    assert_eq!(missing.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(
        stderr.contains("parameter `start`") && stderr.contains("--param start=VALUE"),
        "{stderr}"
    );
    // ... and passing it as told works, with or without a library header that omits it.
    let headed = tmp.path().join("headed.sql");
    std::fs::write(
        &headed,
        "-- name: headed\n-- title: t\n-- title_zh: t\n-- description: d\n-- unit: orders\n\
         SELECT count(*) AS n FROM repair_orders WHERE opened_at >= $start",
    )
    .unwrap();
    for file in [&unbound, &headed] {
        let given = aftersight(
            &repo_root(),
            &[
                "sql",
                "--warehouse",
                wh,
                "-f",
                file.to_str().unwrap(),
                "--param",
                "start=2026-10-01",
                "--format",
                "csv",
            ],
            &[],
        );
        assert!(
            given.status.success(),
            "{}",
            String::from_utf8_lossy(&given.stderr)
        );
        // October: RO6-RO10 opened from 10-01 (the fixture's comments above).
        let text = String::from_utf8_lossy(&given.stdout);
        assert_eq!(text.lines().nth(1), Some("5"), "{text}");
    }
}

#[test]
fn an_as_of_session_sees_the_warehouse_as_it_was_that_day() {
    let tmp = tempfile::tempdir().unwrap();
    let wh = mini_warehouse(tmp.path());
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let settings = SessionSettings { as_of: crate::support::day("2026-09-30"), ..SessionSettings::default() };
        let ctx = sql::open(&wh, &settings).await.unwrap();
        // September: RO1-RO5 (the last opened 09-25), one sale, both claims, all three surveys.
        assert_eq!(sql::data_valid_through(&ctx).await.unwrap(), crate::support::day("2026-09-25"));
        let counts = sql::query(
            &ctx,
            "SELECT (SELECT count(*) FROM repair_orders) AS r, (SELECT count(*) FROM transactions) AS t, \
             (SELECT count(*) FROM warranty_claims) AS w, (SELECT count(*) FROM surveys) AS s, \
             (SELECT count(*) FROM vehicles) AS v",
            HashMap::new(),
        )
        .await
        .unwrap();
        assert_eq!(rows(&counts), vec![vec!["5", "1", "2", "3", "3"]]);
    });
}

#[test]
fn the_executive_and_warranty_queries_are_the_queries_folders() {
    for (folder, embedded) in [
        ("executive", aftersight::executive::EMBEDDED),
        ("warranty", aftersight::warranty::EMBEDDED),
    ] {
        let queries = library::load(&root().join("queries").join(folder)).unwrap();
        let names: Vec<&str> = queries.iter().map(|q| q.name.as_str()).collect();
        let compiled: Vec<&str> = embedded.iter().map(|(n, _)| *n).collect();
        assert_eq!(names, compiled, "update {folder}::EMBEDDED");
        for (name, text) in embedded {
            let path = root().join(format!("queries/{folder}/{name}.sql"));
            assert_eq!(
                std::fs::read_to_string(path).unwrap(),
                *text,
                "{folder}/{name}"
            );
        }
    }
}

/// Runs a query of `queries/executive/` with the given prediction tables registered.
fn run_executive(
    wh: &Path,
    name: &str,
    segments: bool,
    params: &[(&str, &str)],
) -> Vec<Vec<String>> {
    use datafusion::arrow::array::{Float64Array, Int64Array, StringArray};
    use datafusion::arrow::record_batch::RecordBatch;
    use std::sync::Arc;
    let q = library::find(&root().join("queries/executive"), name).unwrap();
    let churn = RecordBatch::try_from_iter([
        (
            "customer_id",
            Arc::new(StringArray::from(vec![
                "C00000001",
                "C00000002",
                "C00000003",
            ])) as _,
        ),
        (
            "probability",
            Arc::new(Float64Array::from(vec![0.2, 0.9, 0.5])) as _,
        ),
        (
            "drivers",
            Arc::new(StringArray::from(vec![
                "comebacks:high",
                "",
                "csi_shortfall:high;price_index:high",
            ])) as _,
        ),
    ])
    .unwrap();
    let (ids, labels, names, names_zh) = if segments {
        (
            vec!["C00000001", "C00000002"],
            vec![0, 1],
            vec!["loyal", "lapsing"],
            vec!["忠诚", "流失中"],
        )
    } else {
        (vec![], vec![], vec![], vec![])
    };
    let segments = RecordBatch::try_from_iter([
        ("customer_id", Arc::new(StringArray::from(ids)) as _),
        ("segment", Arc::new(Int64Array::from(labels)) as _),
        (
            "segment_description",
            Arc::new(StringArray::from(names.clone())) as _,
        ),
        ("segment_name", Arc::new(StringArray::from(names)) as _),
        (
            "segment_name_zh",
            Arc::new(StringArray::from(names_zh)) as _,
        ),
    ])
    .unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let ctx = sql::open(wh, &SessionSettings::default()).await.unwrap();
        ctx.register_batch("churn_predictions", churn).unwrap();
        ctx.register_batch("segments_predictions", segments)
            .unwrap();
        let given: Vec<(String, String)> = params
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        rows(
            &sql::query(&ctx, &q.sql, q.bind(&given).unwrap())
                .await
                .unwrap(),
        )
    })
}

#[test]
fn executive_queries_match_the_hand_worked_answers() {
    let tmp = tempfile::tempdir().unwrap();
    let wh = mini_warehouse(tmp.path());
    // Churn probabilities: C1 0.2 (segment 0 loyal), C2 0.9 (segment 1 lapsing), C3 0.5 (no segment).
    assert_rows(
        "churn_by_segment",
        &run_executive(&wh, "churn_by_segment", true, &[]),
        &[
            &["lapsing", "流失中", "1", "0.9", "0.9"],
            &["–", "–", "1", "0.5", "0.5"],
            &["loyal", "忠诚", "1", "0.2", "0.2"],
        ],
    );
    // Without segment predictions everyone is "–": 3 customers, 1.6 expected, mean 0.5333.
    let unsegmented = run_executive(&wh, "churn_by_segment", false, &[]);
    assert_eq!(unsegmented.len(), 1, "{unsegmented:?}");
    assert_eq!(&unsegmented[0][..4], ["–", "–", "3", "1.6"]);
    // As of 2026-10-31 every order is in the 12 months. Spend (labour + parts): C1 RO1 500 + RO2 940
    // + RO3 220 + RO8 5100 + RO9 725 + RO10 570 = 8055; C2 RO4 475; C3 RO5 1350 + RO6 400 + RO7 350 = 2100.
    // At stake: C1 0.2 × 8055 = 1611, C3 0.5 × 2100 = 1050, C2 0.9 × 475 = 427.5.
    assert_rows(
        "churn_top_customers",
        &run_executive(&wh, "churn_top_customers", true, &[("as_of", "2026-10-31")]),
        &[
            &[
                "王伟",
                "上海",
                "loyal",
                "忠诚",
                "0.2",
                "2026-10-28T09:00:00",
                "8055.0",
                "1611.0",
                "comebacks:high",
            ],
            &[
                "张强",
                "上海",
                "–",
                "–",
                "0.5",
                "2026-10-30T08:00:00",
                "2100.0",
                "1050.0",
                "csi_shortfall:high;price_index:high",
            ],
            &[
                "李娜",
                "上海",
                "lapsing",
                "流失中",
                "0.9",
                "2026-09-05T08:00:00",
                "475.0",
                "427.5",
                "",
            ],
        ],
    );
    // As of 2026-09-30 only September counts: C1 RO1-RO3 1660 (332), C2 475 (427.5), C3 RO5 1350 (675);
    // `top` 2 keeps C3 and C2.
    assert_rows(
        "churn_top_customers september",
        &run_executive(
            &wh,
            "churn_top_customers",
            true,
            &[("as_of", "2026-09-30"), ("top", "2")],
        ),
        &[
            &[
                "张强",
                "上海",
                "–",
                "–",
                "0.5",
                "2026-09-20T08:00:00",
                "1350.0",
                "675.0",
                "csi_shortfall:high;price_index:high",
            ],
            &[
                "李娜",
                "上海",
                "lapsing",
                "流失中",
                "0.9",
                "2026-09-05T08:00:00",
                "475.0",
                "427.5",
                "",
            ],
        ],
    );
    // As of 2027-10-15 the active window starts 2026-10-16: C1 (RO9 725 + RO10 570 = 1295 → 259; RO8
    // opened 10-15) and C3 (RO6, 400 → 200) are still active; C2, last seen 2026-09-05, is lost (between 2025-10-16 and 2026-10-16).
    assert_rows(
        "churn_top_customers a year on",
        &run_executive(&wh, "churn_top_customers", true, &[("as_of", "2027-10-15")]),
        &[
            &[
                "王伟",
                "上海",
                "loyal",
                "忠诚",
                "0.2",
                "2026-10-28T09:00:00",
                "1295.0",
                "259.0",
                "comebacks:high",
            ],
            &[
                "张强",
                "上海",
                "–",
                "–",
                "0.5",
                "2026-10-30T08:00:00",
                "400.0",
                "200.0",
                "csi_shortfall:high;price_index:high",
            ],
        ],
    );
    for (as_of, lost) in [
        ("2026-10-31", "0"),
        ("2027-10-15", "1"),
        ("2027-11-30", "3"),
    ] {
        assert_rows(
            &format!("churn_lost_customers {as_of}"),
            &run_executive(&wh, "churn_lost_customers", false, &[("as_of", as_of)]),
            &[&[lost]],
        );
    }
    assert_rows(
        "station_names",
        &run_executive(&wh, "station_names", false, &[]),
        &[
            &["ST000001", "上海浦东比亚迪4S店"],
            &["ST000002", "速驰快修(浦东店)"],
        ],
    );
}
