//! Models: reliability against lifelines and the planted laws, churn against
//! the oracle, segments against the planted segments, no leakage across the
//! cutoff, and identical results on re-runs.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use aftersight::dates::parse_date;
use aftersight::generate::export::ExportFormat;
use aftersight::models::classifier::{self, Target};
use aftersight::models::features::{self, FeatureTable};
use aftersight::models::jobs::{self, ModelName, ModelPaths};
use aftersight::models::life;
use aftersight::models::reliability::{
    Life, WeibullFit, fit_weibull, fit_weibull_grouped, kaplan_meier,
};
use aftersight::schema::Table;
use aftersight::sql::{self, SessionSettings};
use datafusion::prelude::SessionContext;

use crate::support::{aftersight, assert_rows, gen_into, ingest_clean, repo_root, rows, truth};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/reliability")
}

fn read_lives(path: &Path) -> Vec<Life> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| {
            let (t, f) = l.split_once(',').unwrap();
            Life {
                time: t.parse().unwrap(),
                failed: f == "true",
            }
        })
        .collect()
}

fn close(got: f64, want: f64, rel: f64, what: &str) {
    assert!(
        (got - want).abs() <= rel * want.abs(),
        "{what}: got {got}, lifelines {want}"
    );
}

/// A fit's estimates, standard errors (1e-3 relative) and log-likelihood
/// (1e-6) against lifelines' for one reference case.
fn assert_matches_lifelines(fit: &WeibullFit, want: &serde_json::Value, name: &str) {
    let f = |k: &str| want[k].as_f64().unwrap();
    for (got, key, rel) in [
        (fit.shape, "shape", 1e-3),
        (fit.scale, "scale", 1e-3),
        (fit.shape_se, "shape_se", 1e-3),
        (fit.scale_se, "scale_se", 1e-3),
        (fit.log_likelihood, "log_likelihood", 1e-6),
    ] {
        close(got, f(key), rel, &format!("{name} {key}"));
    }
}

#[test]
fn weibull_and_kaplan_meier_agree_with_lifelines() {
    let reference: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixtures().join("lifelines.json")).unwrap()).unwrap();
    for (name, want) in reference["cases"].as_object().unwrap() {
        let lives = read_lives(&fixtures().join(format!("{name}.csv")));
        let fit = fit_weibull(&lives).unwrap();
        assert_matches_lifelines(&fit, want, name);
        let km = kaplan_meier(&lives);
        let steps = want["km"].as_array().unwrap();
        assert_eq!(km.len(), steps.len(), "{name}: KM steps");
        for (got, want) in km.iter().zip(steps) {
            let f = |k: &str| want[k].as_f64().unwrap();
            assert!((got.time - f("time")).abs() < 1e-9);
            close(
                got.survival,
                f("survival"),
                1e-9,
                &format!("{name} KM at {}", got.time),
            );
            close(
                got.lower,
                f("lower"),
                1e-6,
                &format!("{name} KM lower at {}", got.time),
            );
            close(
                got.upper,
                f("upper"),
                1e-6,
                &format!("{name} KM upper at {}", got.time),
            );
        }
    }
}

#[test]
fn grouped_weibull_agrees_with_lifelines_interval_censoring() {
    let reference: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixtures().join("lifelines.json")).unwrap()).unwrap();
    let cases = reference["grouped_cases"].as_object().unwrap();
    assert!(!cases.is_empty());
    for (name, want) in cases {
        let lives = read_lives(&fixtures().join(format!("{name}.csv")));
        let f = |k: &str| want[k].as_f64().unwrap();
        let fit = fit_weibull_grouped(&lives, f("resolution")).unwrap();
        assert_matches_lifelines(&fit, want, name);
        // Treating the recorded times as exact gives a different law.
        let exact = fit_weibull(&lives).unwrap();
        assert!(
            (exact.shape - fit.shape).abs() > 1e-3,
            "{name}: exact {exact:?}"
        );
    }
}

#[test]
fn nevada_agrees_with_the_reliability_package() {
    let folder = repo_root().join("tests/fixtures/nevada");
    let reference: serde_json::Value =
        serde_json::from_slice(&std::fs::read(folder.join("reference.json")).unwrap()).unwrap();
    let input = folder.join("shipments.csv");
    let out = aftersight(
        &folder,
        &[
            "warranty",
            "nevada",
            "--input",
            input.to_str().unwrap(),
            "--forecast",
            "3",
            "--format",
            "json",
        ],
        &[],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for package in ["reliability", "lifelines"] {
        for key in ["beta", "eta"] {
            let (g, w) = (
                got[key].as_f64().unwrap(),
                reference[package][key].as_f64().unwrap(),
            );
            assert!((g / w - 1.0).abs() < 1e-3, "{package} {key}: {g} vs {w}");
        }
    }
    let f = |v: &serde_json::Value, k: &str| v[k].as_f64().unwrap();
    assert_eq!(
        f(&got["fit"], "failures") as u64,
        reference["failures"].as_u64().unwrap()
    );
    assert_eq!(
        f(&got["fit"], "n") as u64 - f(&got["fit"], "failures") as u64,
        reference["suspensions"].as_u64().unwrap()
    );
    let cells = got["cells"].as_array().unwrap();
    // 11 shipments observed for 11, 10, ..., 1 periods.
    assert_eq!(cells.len(), 66);
    let observed: f64 = cells.iter().map(|c| f(c, "observed")).sum();
    assert_eq!(observed as u64, reference["failures"].as_u64().unwrap());
    // A good fit explains the cells: errors near zero on the whole, z of unit spread.
    let expected: f64 = cells.iter().map(|c| f(c, "expected")).sum();
    assert!(
        (expected / observed - 1.0).abs() < 0.05,
        "{expected} vs {observed}"
    );
    let z2: f64 = cells.iter().map(|c| f(c, "z").powi(2)).sum::<f64>() / 65.0;
    assert!(z2 < 1.1 && z2 > 0.9, "{z2}");
    let forecast = got["forecast"].as_array().unwrap();
    assert_eq!(forecast.len(), 33);
    assert!(forecast.iter().all(|c| f(c, "expected") > 0.0));
    assert_eq!(forecast[0]["return_period"], "2026-01");

    let mut bad = std::fs::read_to_string(&input).unwrap();
    bad = bad.replacen(",2,3,", ",2,x,", 1);
    let bad_path = std::env::temp_dir().join(format!("nevada-bad-{}.csv", std::process::id()));
    std::fs::write(&bad_path, bad).unwrap();
    let out = aftersight(
        &folder,
        &["warranty", "nevada", "--input", bad_path.to_str().unwrap()],
        &[],
    );
    std::fs::remove_file(&bad_path).unwrap();
    assert_eq!(out.status.code(), Some(3));
    let message = String::from_utf8_lossy(&out.stderr);
    assert!(
        message.contains(":2: column `2025-03`: a whole number"),
        "{message}"
    );
}

#[test]
fn reliability_fit_and_mcf_read_any_table() {
    let input = fixtures().join("wear_out.csv");
    let plot_dir = tempfile::tempdir().unwrap();
    let out = aftersight(
        &repo_root(),
        &[
            "reliability",
            "fit",
            "--input",
            input.to_str().unwrap(),
            "--time",
            "time",
            "--event",
            "failed",
            "--format",
            "json",
            "--plot",
            plot_dir.path().join("weibull.svg").to_str().unwrap(),
        ],
        &[],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let direct = fit_weibull(&read_lives(&input)).unwrap();
    assert!((rows[0]["shape"].as_f64().unwrap() - direct.shape).abs() < 1e-12);
    assert_eq!(rows[0]["group"], "all");
    // The plot's legend carries the same fit.
    let svg = std::fs::read_to_string(plot_dir.path().join("weibull.svg")).unwrap();
    assert!(
        svg.contains(&format!("β {:.2}", direct.shape)),
        "legend with the fitted shape"
    );

    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("events.csv");
    std::fs::write(
        &events,
        "unit,t,repair\na,2,1\na,5,1\na,10,0\nb,4,0\nc,3,1\nc,3,0\n",
    )
    .unwrap();
    let out = aftersight(
        &repo_root(),
        &[
            "reliability",
            "mcf",
            "--input",
            events.to_str().unwrap(),
            "--unit",
            "unit",
            "--time",
            "t",
            "--event",
            "repair",
            "--format",
            "csv",
            "--plot",
            plot_dir.path().join("mcf.png").to_str().unwrap(),
        ],
        &[],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    // Events at 2 (3 at risk), 3 (3 at risk), 5 (1 at risk: b ends at 4, c at 3).
    assert_eq!(lines[0], "time,at_risk,events,mcf,se,lower,upper");
    assert!(lines[1].starts_with("2.0,3,1,0.333"), "{text}");
    assert!(lines[2].starts_with("3.0,3,1,0.666"), "{text}");
    assert!(lines[3].starts_with("5.0,1,1,1.666"), "{text}");
    let png = std::fs::read(plot_dir.path().join("mcf.png")).unwrap();
    assert_eq!(&png[1..4], b"PNG");

    let missing = aftersight(
        &repo_root(),
        &[
            "reliability",
            "fit",
            "--input",
            input.to_str().unwrap(),
            "--time",
            "nope",
            "--event",
            "failed",
        ],
        &[],
    );
    assert_eq!(missing.status.code(), Some(3), "input rejected");
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no column `nope`"));
}

/// One generated, ingested warehouse shared by the model tests.
struct World {
    _dir: tempfile::TempDir,
    raw: PathBuf,
    warehouse: PathBuf,
}

/// Names the shared world's directory in the system's temporary directory.
const WORLD_PREFIX: &str = "aftersight-models-world-";

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        remove_stale_worlds();
        let dir = tempfile::Builder::new()
            .prefix(WORLD_PREFIX)
            .tempdir()
            .unwrap();
        let raw = gen_into(dir.path(), "raw", 0.1, 11, 0.0, ExportFormat::Csv);
        let warehouse = ingest_clean(&raw, &dir.path().join("warehouse"));
        World {
            _dir: dir,
            raw,
            warehouse,
        }
    })
}

/// A static is never dropped, so the shared world's directory outlives the
/// test run. Each run removes those of runs that started over an hour ago
/// (a run takes minutes; a younger one may belong to a run still going).
fn remove_stale_worlds() {
    let temp = std::env::temp_dir();
    let Ok(entries) = std::fs::read_dir(&temp) else {
        return;
    };
    let hour_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    for entry in entries.flatten() {
        let stale = entry
            .file_name()
            .to_string_lossy()
            .starts_with(WORLD_PREFIX)
            && entry
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|modified| modified < hour_ago);
        if stale {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// Runs a future on a fresh runtime, after building the shared world (which
/// blocks on a runtime of its own, so it must not start inside this one).
fn block_on<F: std::future::Future>(f: F) -> F::Output {
    world();
    tokio::runtime::Runtime::new().unwrap().block_on(f)
}

async fn session() -> SessionContext {
    sql::open(&world().warehouse, &SessionSettings::default())
        .await
        .unwrap()
}

#[test]
fn fleet_fits_recover_the_planted_laws() {
    let fleet = block_on(async {
        life::fleet(&session().await, None, "2025-10-31", 10)
            .await
            .unwrap()
    });
    let laws = truth(&world().raw)["failure_laws"].clone();
    let mut checked = 0;
    for law in laws.as_array().unwrap() {
        let component = law["component"].as_str().unwrap();
        // A law for every vehicle is checked on the component's fit; an
        // override (BEV brake pads, Volkswagen water pumps) on its powertrain's
        // or make's fit, which the per-component fit mixes with the default law.
        let (level, group) = match (law["powertrain"].as_str(), law["make"].as_str()) {
            (Some(p), _) => ("powertrain", p),
            (_, Some(m)) => ("make", m),
            _ if laws
                .as_array()
                .unwrap()
                .iter()
                .filter(|l| l["component"] == component)
                .count()
                > 1 =>
            {
                continue;
            }
            _ => ("component", ""),
        };
        let (basis, unit) = if law["basis"] == "months" {
            ("months", 1.0)
        } else {
            ("thousand_km", 1000.0)
        };
        let Some(fit) = fleet.fits.iter().find(|f| {
            f.level == level && f.group == group && f.basis == basis && f.component == component
        }) else {
            continue; // too few failures (plug-in only components at this scale)
        };
        if fit.fit.failures < 100 {
            continue;
        }
        let (shape, scale) = (
            law["shape"].as_f64().unwrap(),
            law["scale"].as_f64().unwrap() / unit,
        );
        let f = &fit.fit;
        // Several laws are checked at once, so the 95 % bounds are widened to
        // z = 3 (Bonferroni for up to 15 comparisons at 5 %), on the log scale as reported.
        let within = |value: f64, estimate: f64, se: f64| {
            let spread = (3.0 * se / estimate).exp();
            estimate / spread <= value && value <= estimate * spread
        };
        assert!(
            within(shape, f.shape, f.shape_se),
            "{component} {level} {group}: planted shape {shape}, fitted {} (se {})",
            f.shape,
            f.shape_se
        );
        assert!(
            within(scale, f.scale, f.scale_se),
            "{component} {level} {group}: planted scale {scale}, fitted {} (se {})",
            f.scale,
            f.scale_se
        );
        checked += 1;
    }
    assert!(checked >= 8, "checked {checked} laws");
    assert!(!fleet.kaplan_meier.is_empty());
    let last = fleet.mcf.last().unwrap();
    assert!(last.mcf > 0.5 && last.lower < last.mcf && last.mcf < last.upper);
}

fn paths(root: &Path) -> ModelPaths {
    ModelPaths {
        queries: None,
        models: root.join("models"),
        predictions: root.join("predictions"),
    }
}

#[test]
fn churn_tracks_the_oracle_and_reruns_are_identical() {
    let dir = tempfile::tempdir().unwrap();
    let truth = world().raw.join("truth.json");
    let (first, second) = block_on(async {
        let ctx = session().await;
        let p = paths(dir.path());
        let first = jobs::train_classifier(&ctx, &p, Target::Churn, None, 3, Some(&truth))
            .await
            .unwrap();
        let second = jobs::train_classifier(&ctx, &p, Target::Churn, None, 3, Some(&truth))
            .await
            .unwrap();
        (first, second)
    });
    assert_eq!((first.0.as_str(), second.0.as_str()), ("v1", "v2"));
    assert_eq!(
        serde_json::to_value(&first.1).unwrap(),
        serde_json::to_value(&second.1).unwrap(),
        "same seed, same numbers"
    );
    let report = first.1;
    let oracle = report.oracle.as_ref().expect("oracle");
    assert_eq!(report.train_cutoff, "2025-10-31");
    assert!(
        oracle.gap > -0.03,
        "model ROC AUC {} vs oracle {}",
        report.cross_validation.roc_auc,
        oracle.roc_auc
    );
    assert!(oracle.roc_auc > oracle.defection_only_auc.unwrap());
    let importance: std::collections::HashMap<_, _> = report.importance.iter().cloned().collect();
    assert!(importance["recency_days"] > 0.0);
}

/// The hand-made fleet of `tests/fixtures/odometers` (its README works out
/// each odometer): a suspension's odometer at the as-of date follows its
/// current owner's usage, or the model's median usage when the owner has no
/// reading of their own yet, and nothing after the as-of date is read.
#[test]
fn suspension_odometers_follow_the_current_owner() {
    let dir = tempfile::tempdir().unwrap();
    let warehouse = ingest_clean(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/odometers"),
        &dir.path().join("warehouse"),
    );
    let batches = tokio::runtime::Runtime::new().unwrap().block_on(async {
        let ctx = sql::open(&warehouse, &SessionSettings::default())
            .await
            .unwrap();
        let query = features::load(None, "first_failures").unwrap();
        features::run(&ctx, &query, &[("as_of".into(), "2025-10-31".into())])
            .await
            .unwrap()
    });
    // vin, failed and thousand_km, by VIN; the README works out each odometer.
    let mut got: Vec<Vec<String>> = rows(&batches)
        .into_iter()
        .map(|r| vec![r[0].clone(), r[6].clone(), r[8].clone()])
        .collect();
    got.sort();
    assert_rows(
        "first_failures on tests/fixtures/odometers",
        &got,
        &[
            &["LSVAA6C10LA000004", "false", "82.16"], // sold, no reading since: model median (20 km/day)
            &["LSVAA6C12LA000005", "false", ""],      // never came to the network
            &["LSVAA6C14LA000006", "true", "25.0"],   // failed: the odometer of the repair order
            &["LSVAA6C15LA000001", "false", "75.48"], // the new owner's 20 km/day, not 40 across owners
            &["LSVAA6C17LA000002", "false", "21.3"], // first owner, 10 km/day; its later failure unseen
            &["LSVAA6C19LA000003", "false", "63.9"], // first owner, 30 km/day; a later reading unseen
        ],
    );
}

#[test]
fn segments_recover_the_planted_segments() {
    let dir = tempfile::tempdir().unwrap();
    let truth = world().raw.join("truth.json");
    let (_, model, report) = block_on(async {
        jobs::train_segments(
            &session().await,
            &paths(dir.path()),
            None,
            Some(5),
            8,
            Some(&truth),
        )
        .await
        .unwrap()
    });
    let ari = report.adjusted_rand_index.unwrap();
    assert!(ari >= 0.8, "adjusted Rand index {ari}");
    assert_eq!(model.segments.len(), 5);
    assert!(model.segments.iter().all(|s| !s.description.is_empty()));
    // The names say what the planted segment of most of its customers is like (truth.json's descriptions).
    for (segment, planted) in model.segments.iter().zip(&report.planted_majority) {
        let expected = match planted.as_deref() {
            Some("ride_hailing") => "very high mileage",
            Some("urban_commuter") => "short daily drives",
            Some("premium_loyal") => "high spend",
            Some("budget_diy") => "low spend",
            Some("family_long_distance") => "high mileage",
            other => panic!("segment {} has planted majority {other:?}", segment.segment),
        };
        assert!(
            segment.name.contains(expected),
            "{planted:?}: {} ({})",
            segment.name,
            segment.description
        );
        assert!(segment.name_zh.contains("公里/天"), "{}", segment.name_zh);
    }
}

/// How far below the failure oracle's ROC AUC the model may be at scale 0.1
/// (at scale 1 the gap is recorded in benches/README.md).
const FAILURE_ORACLE_GAP_BOUND: f64 = 0.08;

#[test]
fn failure_model_ranks_the_later_window_and_scores_the_fleet() {
    let dir = tempfile::tempdir().unwrap();
    let p = paths(dir.path());
    let (version, report, predictions) = block_on(async {
        let ctx = session().await;
        let truth = world().raw.join("truth.json");
        let (version, report) =
            jobs::train_classifier(&ctx, &p, Target::Failure, None, 1, Some(&truth))
                .await
                .unwrap();
        let predictions = jobs::predict(&ctx, &p, ModelName::Failure, None)
            .await
            .unwrap();
        (version, report, predictions)
    });
    assert_eq!(version, "v1");
    for c in &report.time_split {
        assert!(c.evaluation.roc_auc > 0.6, "{:?}", c);
    }
    // The planted laws and defections bound what any model can do; at this
    // small scale the model is within ORACLE_GAP_BOUND of that bound.
    let oracle = report.oracle.as_ref().expect("oracle from the truth");
    assert!(
        oracle.roc_auc > oracle.failure_law_only_auc.unwrap(),
        "{oracle:?}"
    );
    assert!(
        oracle.gap > -FAILURE_ORACLE_GAP_BOUND && oracle.gap < 0.01,
        "model {} vs oracle {}",
        report.cross_validation.roc_auc,
        oracle.roc_auc
    );
    let importance: std::collections::HashMap<_, _> = report.importance.iter().cloned().collect();
    assert!(importance["law_p_months"] > 0.0, "{importance:?}");
    assert_eq!(predictions.cutoff, "2026-10-31");
    let file = p.predictions.join("failure").join(&predictions.file);
    let reader = datafusion::parquet::file::reader::SerializedFileReader::new(
        std::fs::File::open(&file).unwrap(),
    )
    .unwrap();
    use datafusion::parquet::file::reader::FileReader;
    assert_eq!(
        reader.metadata().file_metadata().num_rows() as usize,
        predictions.rows
    );
    let listed = aftersight::models::store::list(&p.models).unwrap().batch();
    assert_eq!(listed.num_rows(), 1);
}

#[test]
fn tune_ranks_a_grid_and_champion_promotes_by_the_later_window() {
    use aftersight::models::classifier::Algorithm;
    use aftersight::models::linear::LogisticParams;
    use aftersight::models::store::{self, Metric};
    let dir = tempfile::tempdir().unwrap();
    let p = paths(dir.path());
    let grid = [0.001, 10.0].map(|c| {
        Algorithm::Logistic(LogisticParams {
            c,
            ..LogisticParams::default()
        })
    });
    let (rows, reports) = block_on(async {
        let ctx = session().await;
        let rows = jobs::tune(&ctx, &p, Target::Churn, &grid, 3, None, 1)
            .await
            .unwrap();
        let mut reports = Vec::new();
        for cutoff in ["2025-07-31", "2025-10-31"] {
            let day = parse_date(cutoff);
            reports.push(
                jobs::train_classifier(&ctx, &p, Target::Churn, day, 1, None)
                    .await
                    .unwrap(),
            );
        }
        (rows, reports)
    });
    assert_eq!(rows.len(), 2);
    assert!(rows[0].mean_auc >= rows[1].mean_auc, "best first");
    assert!(
        rows.iter()
            .all(|r| r.std_auc >= 0.0 && r.log_loss.is_finite())
    );
    assert!(
        rows.iter().all(|r| r.mean_auc > 0.6),
        "{:?}",
        rows[0].mean_auc
    );

    // The champion is the first version saved until one is promoted by a metric of the later window.
    let champion = || std::fs::read_to_string(p.models.join("churn/champion")).unwrap();
    assert_eq!(champion().trim(), "v1");
    let later_window = |i: usize, pick: fn(&aftersight::models::metrics::Evaluation) -> f64| {
        let r = &reports[i].1;
        r.time_split
            .iter()
            .find(|c| c.algorithm == r.algorithm)
            .map(|c| pick(&c.evaluation))
            .unwrap()
    };
    type Pick = fn(&aftersight::models::metrics::Evaluation) -> f64;
    let by: [(Metric, Pick, bool); 2] = [
        (Metric::RocAuc, |e| e.roc_auc, true),
        (Metric::LogLoss, |e| e.log_loss, false),
    ];
    for (metric, pick, higher) in by {
        let ranked = store::promote_by(&p.models, "churn", metric).unwrap();
        let (a, b) = (later_window(0, pick), later_window(1, pick));
        let best = if (a > b) == higher { "v1" } else { "v2" };
        assert_eq!(ranked[0].0, best, "{metric:?}: {ranked:?}");
        assert_eq!(champion().trim(), best);
    }
    let cli = |args: &[&str]| {
        let mut all = vec!["models", "--models", p.models.to_str().unwrap(), "champion"];
        all.extend_from_slice(args);
        aftersight(&repo_root(), &all, &[])
    };
    let out = cli(&["churn", "v2"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(champion().trim(), "v2");
    assert_eq!(cli(&["segments", "--by", "roc_auc"]).status.code(), Some(2));
    assert_eq!(cli(&["churn"]).status.code(), Some(2), "a version or --by");
}

#[test]
fn features_export_the_table_a_model_trains_on() {
    let dir = tempfile::tempdir().unwrap();
    let export = |file: &str| {
        aftersight(
            &repo_root(),
            &[
                "features",
                "churn",
                "--warehouse",
                world().warehouse.to_str().unwrap(),
                "--cutoff",
                "2025-10-31",
                "--output",
                dir.path().join(file).to_str().unwrap(),
            ],
            &[],
        )
    };
    let out = export("churn.csv");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(dir.path().join("churn.csv")).unwrap();
    let header = text.lines().next().unwrap();
    assert!(header.starts_with("customer_id,recency_days,"), "{header}");
    assert!(header.ends_with(",label"), "{header}");
    let table = block_on(async {
        let ctx = session().await;
        classifier::snapshot(&ctx, None, Target::Churn, parse_date("2025-10-31").unwrap())
            .await
            .unwrap()
    });
    assert_eq!(text.lines().count(), table.len() + 1);
    assert_eq!(export("churn.xlsx").status.code(), Some(2));
    assert!(!dir.path().join("churn.xlsx").exists());
}

/// A session over the same warehouse where every table is cut at `cutoff`:
/// what a run on that day would have seen.
async fn session_as_of(cutoff: &str) -> SessionContext {
    let ctx = session().await;
    for table in Table::ALL {
        let column = match table {
            Table::Vehicles => "first_registration_date",
            Table::Customers => "first_seen_date",
            Table::Stations => "opened_date",
            other => other.event_column().unwrap(),
        };
        let df = ctx
            .sql(&format!(
                "SELECT * FROM {name} WHERE CAST({column} AS DATE) <= DATE '{cutoff}'",
                name = table.name()
            ))
            .await
            .unwrap();
        let view = df.into_view();
        ctx.deregister_table(table.name()).unwrap();
        ctx.register_table(table.name(), view).unwrap();
    }
    ctx
}

#[test]
fn features_do_not_leak_across_the_cutoff() {
    let cutoff = "2025-10-31";
    let day = parse_date(cutoff).unwrap();
    block_on(async {
        let full = session().await;
        let past = session_as_of(cutoff).await;
        for target in [Target::Churn, Target::Failure] {
            let a = classifier::snapshot(&full, None, target, day)
                .await
                .unwrap();
            let b = classifier::snapshot(&past, None, target, day)
                .await
                .unwrap();
            assert_eq!(a.ids, b.ids, "{target:?}: same rows");
            for (c, name) in a.names.iter().enumerate() {
                // Equal up to the order of floating-point sums, which varies with the plan.
                let differs = (0..a.len())
                    .filter(|&r| {
                        (a.x[[r, c]] - b.x[[r, c]]).abs() > 1e-9 * a.x[[r, c]].abs().max(1.0)
                    })
                    .count();
                assert_eq!(
                    differs, 0,
                    "{target:?}: feature `{name}` differs in {differs} rows"
                );
            }
            assert!(
                a.labels.unwrap().iter().any(|&l| l),
                "the full data has outcomes"
            );
        }
        let query = features::load(None, "segments").unwrap();
        let params = aftersight::models::segment::params(day);
        let a = FeatureTable::from_batches(
            "segments",
            &features::run(&full, &query, &params).await.unwrap(),
        )
        .unwrap();
        let b = FeatureTable::from_batches(
            "segments",
            &features::run(&past, &query, &params).await.unwrap(),
        )
        .unwrap();
        assert_eq!(a.ids, b.ids);
        assert!(
            a.x.iter()
                .zip(&b.x)
                .all(|(p, q)| (p - q).abs() <= 1e-9 * p.abs().max(1.0))
        );
    });
}

#[test]
fn the_embedded_feature_queries_are_the_folder() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("queries/features");
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".sql"))
        .collect();
    on_disk.sort();
    let embedded: Vec<String> = features::EMBEDDED
        .iter()
        .map(|(n, _)| format!("{n}.sql"))
        .collect();
    assert_eq!(on_disk, embedded);
    for (name, text) in features::EMBEDDED {
        assert_eq!(
            &std::fs::read_to_string(dir.join(format!("{name}.sql"))).unwrap(),
            text
        );
    }
}

#[test]
fn the_executive_summary_shows_headline_kpis_alarms_and_scorecard() {
    use aftersight::charts::Lang;
    use aftersight::executive::{SummaryConfig, write};
    let out = tempfile::tempdir().unwrap();
    let config = |lang| SummaryConfig {
        warehouse: world().warehouse.clone(),
        out: out.path().to_path_buf(),
        queries: None,
        // Six months to the end of August 2025: the Haval H6 MY2022 transmission issue starts in May.
        period: Some("2025-08".parse().unwrap()),
        lang,
        settings: Default::default(),
    };
    let summary = block_on(write(&config(Lang::En))).unwrap();
    // Only alarms that passed the rule are listed; at scale 0.1 the planted
    // issue is too small to pass it by August (the scale 0.2 test below finds it).
    assert!(
        summary.risks.iter().all(|r| r.alarm.adjusted_p <= 0.05),
        "{:?}",
        summary.risks
    );
    assert_eq!(summary.headline.len(), 9);
    assert!(
        summary
            .headline
            .iter()
            .all(|h| h.value.is_some() && h.previous.is_some() && h.last_year.is_some())
    );
    let html = std::fs::read_to_string(&summary.file).unwrap();
    assert!(
        summary
            .file
            .ends_with("executive/period=2025-08/summary.html")
    );
    assert_eq!(
        summary.risks.is_empty(),
        html.contains("No emerging issue passes the threshold this month.")
    );
    for needle in [
        "August 2025",
        "Flagged when a cohort",
        "No churn predictions yet",
        "Station scorecard",
        "data:image/png;base64,",
    ] {
        assert!(html.contains(needle), "missing {needle}");
    }
    assert_eq!(html.matches("<img ").count(), summary.charts);
    let zh = block_on(write(&config(Lang::Zh))).unwrap();
    let html = std::fs::read_to_string(&zh.file).unwrap();
    assert!(
        html.contains("2025年8月")
            && html.contains("核心指标")
            && html.contains("服务站评分卡")
            && html.contains("判定规则")
    );
    // A period after the data ends has nothing to summarise, and says so.
    let mut late = config(Lang::En);
    late.period = Some("2027-01".parse().unwrap());
    let err = block_on(write(&late)).unwrap_err();
    assert!(
        matches!(err, aftersight::report::ReportError::NoData { .. }),
        "{err}"
    );
}

/// `aftersight warranty alerts` on one month, as CSV rows (header dropped).
fn alerts_at(warehouse: &Path, as_of: &str) -> Vec<String> {
    let out = aftersight(
        &repo_root(),
        &[
            "warranty",
            "alerts",
            "--warehouse",
            warehouse.to_str().unwrap(),
            "--as-of",
            as_of,
            "--out",
            warehouse.parent().unwrap().join("out").to_str().unwrap(),
            "--format",
            "csv",
        ],
        &[],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .skip(1)
        .map(str::to_owned)
        .collect()
}

#[test]
fn emerging_issue_alarms_find_the_planted_issue_and_stay_quiet_without_it() {
    let tmp = tempfile::tempdir().unwrap();
    let generate = |name: &str, extra: &[&str]| {
        let raw = tmp.path().join(name).join("raw");
        let mut args = vec!["generate", "--scale", "0.2", "--seed", "5", "--out"];
        args.push(raw.to_str().unwrap());
        args.extend_from_slice(extra);
        let out = aftersight(&repo_root(), &args, &[]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        ingest_clean(&raw, &tmp.path().join(name).join("wh"))
    };
    // Without the issue, no alarm in the months after the default onset (2025-05).
    let quiet = generate("quiet", &["--no-emerging-issue"]);
    for month in ["2025-08-31", "2025-10-31", "2025-12-31"] {
        assert_eq!(alerts_at(&quiet, month), Vec::<String>::new(), "{month}");
    }
    // Planted four times as strong (0.08 extra failures per vehicle-month), the
    // Haval H6 2022 transmission is the alarm within four months of its onset.
    let loud = generate("loud", &["--emerging-strength", "4"]);
    let alarms = alerts_at(&loud, "2025-09-30");
    assert!(
        alarms
            .iter()
            .any(|a| a.starts_with("Haval,H6,2022,ICE,transmission,")),
        "{alarms:?}"
    );
    assert!(
        alarms.iter().all(|a| a.contains(",transmission,")),
        "only the planted cell alarms: {alarms:?}"
    );
    // The executive page shows the same alarm for that month, and none without the issue.
    let summary = |warehouse: &Path, period: &str| {
        use aftersight::executive::{SummaryConfig, write};
        block_on(write(&SummaryConfig {
            warehouse: warehouse.to_path_buf(),
            out: tmp.path().join("summary"),
            queries: None,
            period: Some(period.parse().unwrap()),
            lang: aftersight::charts::Lang::En,
            settings: Default::default(),
        }))
        .unwrap()
    };
    let page = summary(&loud, "2025-09");
    assert!(
        page.risks
            .iter()
            .any(|r| r.cohort == "Haval H6 2022" && r.component == "transmission"),
        "{:?}",
        page.risks
    );
    let html = std::fs::read_to_string(&page.file).unwrap();
    assert!(html.contains("Haval H6 2022") && html.contains("Alarm since"));
    let page = summary(&quiet, "2025-10");
    assert!(page.risks.is_empty(), "{:?}", page.risks);
    let html = std::fs::read_to_string(&page.file).unwrap();
    assert!(html.contains("No emerging issue passes the threshold this month."));
}
