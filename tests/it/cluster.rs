//! The cluster engine (Apache DataFusion Ballista) against the in-process one.
//!
//! Every query of the KPI library (which the reports run), the feature
//! queries and the warehouse-only warranty and executive queries give the same
//! rows on Ballista as in process: on Ballista's standalone mode and on a
//! scheduler and two executors that a test starts on loopback. `aftersight run`
//! on that cluster writes byte-identical KPI and report CSVs and the same
//! pages (the queries that read the run's own outputs, predictions and
//! outlooks, are checked there).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aftersight::generate::export::ExportFormat;
use aftersight::sql::{self, Engine, SessionSettings, library};
use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Float64Type};
use datafusion::arrow::record_batch::RecordBatch;

use crate::support::{gen_into, ingest_clean, repo_root};

/// How long the cluster's processes may take to start and register.
const START_LIMIT: Duration = Duration::from_secs(90);
/// How long the comparison of every query may take on one engine.
const COMPARE_LIMIT: Duration = Duration::from_secs(900);
/// How long one `aftersight run` of the sample may take.
const RUN_LIMIT: Duration = Duration::from_secs(900);

/// A generated warehouse small enough for a debug build.
fn warehouse(dir: &Path) -> PathBuf {
    let raw = gen_into(dir, "raw", 0.02, 11, 0.0, ExportFormat::Csv);
    ingest_clean(&raw, &dir.join("wh"))
}

/// The queries compared: the KPI library, the feature queries, and the
/// warranty and executive queries that read only the warehouse.
fn queries() -> Vec<library::QueryFile> {
    let root = repo_root().join("queries");
    let mut all = library::load(&root).unwrap();
    all.extend(library::load(&root.join("features")).unwrap());
    for (folder, name) in [
        ("warranty", "cohort_registrations"),
        ("warranty", "component_failures"),
        ("executive", "station_names"),
    ] {
        let text = std::fs::read_to_string(root.join(folder).join(format!("{name}.sql"))).unwrap();
        all.push(library::QueryFile::parse(&root.join(folder).join(name), &text).unwrap());
    }
    all
}

/// One cell, as the comparison sees it.
#[derive(Debug, Clone)]
enum Cell {
    Null,
    Number(f64),
    Text(String),
}

/// Rows of typed cells; floating-point columns are numbers, every other
/// column its text.
fn cells(batches: &[RecordBatch]) -> Vec<Vec<Cell>> {
    let mut out = Vec::new();
    for b in batches {
        let columns: Vec<Vec<Cell>> = b
            .columns()
            .iter()
            .map(|c| {
                let float = matches!(c.data_type(), DataType::Float64 | DataType::Float32);
                if float {
                    let c = cast(c, &DataType::Float64).unwrap();
                    let c = c.as_primitive::<Float64Type>();
                    (0..c.len())
                        .map(|i| match c.is_valid(i) {
                            true => Cell::Number(c.value(i)),
                            false => Cell::Null,
                        })
                        .collect()
                } else {
                    let c = cast(c, &DataType::Utf8).unwrap();
                    let c = c.as_string::<i32>();
                    (0..c.len())
                        .map(|i| match c.is_valid(i) {
                            true => Cell::Text(c.value(i).to_owned()),
                            false => Cell::Null,
                        })
                        .collect()
                }
            })
            .collect();
        for r in 0..b.num_rows() {
            out.push(columns.iter().map(|c| c[r].clone()).collect());
        }
    }
    out
}

/// Rows in one canonical order (engines may break ties of ORDER BY differently).
fn canonical(mut rows: Vec<Vec<Cell>>) -> Vec<Vec<Cell>> {
    let key = |row: &Vec<Cell>| -> Vec<String> {
        row.iter()
            .map(|c| match c {
                Cell::Null => "\u{0}".to_owned(),
                Cell::Number(x) => format!("{x:.6e}"),
                Cell::Text(t) => t.clone(),
            })
            .collect()
    };
    rows.sort_by_cached_key(key);
    rows
}

/// Fails unless both result sets hold the same rows: text exactly, numbers
/// to 1e-9 relative, and amounts in yuan (`*_cny`) to the cent as well.
fn assert_same(name: &str, local: &[RecordBatch], cluster: &[RecordBatch]) {
    let names: Vec<String> = match local.first().or(cluster.first()) {
        Some(b) => b
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect(),
        None => return,
    };
    let (a, b) = (canonical(cells(local)), canonical(cells(cluster)));
    assert_eq!(a.len(), b.len(), "{name}: row counts differ");
    for (ra, rb) in a.iter().zip(&b) {
        for ((x, y), column) in ra.iter().zip(rb).zip(&names) {
            let same = match (x, y) {
                (Cell::Null, Cell::Null) => true,
                (Cell::Text(s), Cell::Text(t)) => s == t,
                (Cell::Number(p), Cell::Number(q)) => {
                    let close = (p - q).abs() <= 1e-9 * p.abs().max(q.abs()).max(1.0)
                        || (p.is_nan() && q.is_nan());
                    close && (!column.ends_with("_cny") || (p - q).abs() < 0.005)
                }
                _ => false,
            };
            assert!(
                same,
                "{name}.{column}: {x:?} in process, {y:?} on the cluster\n{ra:?}\n{rb:?}"
            );
        }
    }
}

/// Runs every compared query on both engines and checks the rows agree,
/// within [`COMPARE_LIMIT`] (a cluster job that never ends fails the test).
async fn compare_engines(warehouse: &Path, cluster: Engine) {
    let name = cluster.to_string();
    if tokio::time::timeout(COMPARE_LIMIT, compare_all(warehouse, cluster))
        .await
        .is_err()
    {
        panic!(
            "the queries on {name} ran past {} s",
            COMPARE_LIMIT.as_secs()
        );
    }
}

async fn compare_all(warehouse: &Path, cluster: Engine) {
    let local = sql::open(warehouse, &SessionSettings::default())
        .await
        .unwrap();
    let settings = SessionSettings {
        engine: cluster.clone(),
        ..SessionSettings::default()
    };
    let remote = sql::open(warehouse, &settings).await.unwrap();
    let mut compared = 0;
    for q in queries() {
        let params = q.bind(&[]).unwrap();
        eprintln!("comparing {} on {cluster}", q.name);
        let want = sql::query(&local, &q.sql, params.clone()).await.unwrap();
        let got = sql::query(&remote, &q.sql, params)
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "{} on {cluster}: {}",
                    q.name,
                    aftersight::error::chain_message(&e)
                )
            });
        assert_same(&q.name, &want, &got);
        compared += usize::from(want.iter().any(|b| b.num_rows() > 0));
    }
    assert!(compared >= 20, "only {compared} queries returned rows");
    // The read-only rules hold on the cluster as well: planned, and refused, here.
    let outside = warehouse.with_file_name("copied.csv");
    for statement in [
        format!("COPY repair_orders TO '{}'", outside.display()),
        "CREATE TABLE x AS SELECT 1".to_owned(),
        "INSERT INTO stations SELECT * FROM stations".to_owned(),
    ] {
        let refused = match sql::query(&remote, &statement, Default::default()).await {
            Ok(_) => panic!("{statement} ran on {cluster}"),
            Err(e) => aftersight::error::chain_message(&e),
        };
        assert!(
            refused.contains("read-only") || refused.contains("not supported"),
            "{statement} on {cluster}: {refused}"
        );
    }
    assert!(!outside.exists(), "the cluster wrote nothing");
}

/// Runs `test` on a runtime whose threads have the stack Ballista needs to
/// serialise plans in a debug build (as the `aftersight` binary's do).
fn on_runtime<F: std::future::Future<Output = ()> + Send + 'static>(test: F) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_stack_size(32 << 20)
        .enable_all()
        .build()
        .unwrap();
    if let Err(e) = rt.block_on(rt.spawn(test)) {
        std::panic::resume_unwind(e.into_panic());
    }
}

#[test]
fn every_query_gives_the_same_rows_on_ballista_standalone() {
    on_runtime(every_query_on_standalone());
}

async fn every_query_on_standalone() {
    let tmp = tempfile::tempdir().unwrap();
    let wh = tokio::task::spawn_blocking({
        let dir = tmp.path().to_path_buf();
        move || warehouse(&dir)
    })
    .await
    .unwrap();
    compare_engines(&wh, Engine::Standalone).await;
}

#[test]
fn an_unreachable_scheduler_is_named_with_what_to_do() {
    on_runtime(unreachable_scheduler());
}

async fn unreachable_scheduler() {
    let tmp = tempfile::tempdir().unwrap();
    let wh = tokio::task::spawn_blocking({
        let dir = tmp.path().to_path_buf();
        move || ingest_clean(&repo_root().join("tests/fixtures/mini"), &dir.join("wh"))
    })
    .await
    .unwrap();
    let port = free_ports(1)[0];
    let url = format!("df://127.0.0.1:{port}");
    let settings = SessionSettings {
        engine: Engine::Ballista(url.parse().unwrap()),
        ..SessionSettings::default()
    };
    let err = match sql::open(&wh, &settings).await {
        Ok(_) => panic!("a session opened on {url}, where nothing listens"),
        Err(e) => e.to_string(),
    };
    assert!(
        err.starts_with(&format!(
            "engine ballista at {url}: cannot reach the scheduler"
        )) && err.contains("aftersight scheduler"),
        "{err}"
    );
}

/// A scheduler and two executors, `aftersight scheduler` / `aftersight
/// executor` on loopback ports chosen here, killed when dropped.
struct LoopbackCluster {
    children: Vec<(String, Child)>,
    logs: PathBuf,
    scheduler_port: u16,
}

impl LoopbackCluster {
    fn start(dir: &Path) -> LoopbackCluster {
        LoopbackCluster::start_with(dir, 2, None)
    }

    /// A scheduler and `executors` executors; with `hidden`, the executors run
    /// in their own mount namespace where that folder is an empty tmpfs (as
    /// if the warehouse were not on a shared file system).
    fn start_with(dir: &Path, executors: usize, hidden: Option<&Path>) -> LoopbackCluster {
        let logs = dir.join("logs");
        std::fs::create_dir_all(&logs).unwrap();
        let ports = free_ports(1 + 3 * executors);
        let mut cluster = LoopbackCluster {
            children: Vec::new(),
            logs,
            scheduler_port: ports[0],
        };
        let scheduler_port = ports[0].to_string();
        cluster.spawn(
            "scheduler",
            &[
                "scheduler",
                "--bind-host",
                "127.0.0.1",
                "--external-host",
                "127.0.0.1",
                "--bind-port",
                &scheduler_port,
            ],
        );
        cluster.wait_for("scheduler", |_| port_open(ports[0]));
        for (i, p) in ports[1..].chunks(3).enumerate() {
            let name = format!("executor{}", i + 1);
            let work = dir.join(&name);
            std::fs::create_dir_all(&work).unwrap();
            let (flight, grpc, health) = (p[0].to_string(), p[1].to_string(), p[2].to_string());
            let hide: Vec<&str> = match hidden {
                // unshare(1): `sh -c 'mount … "$1"; shift; exec "$@"' sh DIR aftersight executor …`
                Some(folder) => vec![
                    "unshare",
                    "--mount",
                    "--propagation",
                    "private",
                    "sh",
                    "-c",
                    "mount -t tmpfs tmpfs \"$1\" && shift && exec \"$@\"",
                    "sh",
                    folder.to_str().unwrap(),
                    env!("CARGO_BIN_EXE_aftersight"),
                ],
                None => vec![],
            };
            cluster.spawn(
                &name,
                &[
                    &hide[..],
                    &[
                        "executor",
                        "--scheduler-host",
                        "127.0.0.1",
                        "--scheduler-port",
                        &scheduler_port,
                        "--bind-host",
                        "127.0.0.1",
                        "--external-host",
                        "127.0.0.1",
                        "--bind-port",
                        &flight,
                        "--bind-grpc-port",
                        &grpc,
                        "--bind-health-port",
                        &health,
                        "--vcores",
                        "1",
                        "--scheduler-connect-timeout-seconds",
                        "30",
                        "--work-dir",
                        work.to_str().unwrap(),
                    ],
                ]
                .concat(),
            );
            cluster.wait_for(&name, |_| http_ok(p[2], "/readyz"));
        }
        cluster
    }

    fn url(&self) -> String {
        format!("df://127.0.0.1:{}", self.scheduler_port)
    }

    /// Starts `aftersight ARGS`, or `ARGS` when they start with another program.
    fn spawn(&mut self, name: &str, args: &[&str]) {
        let log = std::fs::File::create(self.logs.join(format!("{name}.log"))).unwrap();
        let (program, args) = match args {
            ["unshare", ..] => ("unshare", &args[1..]),
            _ => (env!("CARGO_BIN_EXE_aftersight"), args),
        };
        let child = Command::new(program)
            .args(args)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        self.children.push((name.to_owned(), child));
    }

    /// Polls `ready` until it holds, or fails with the process's log.
    fn wait_for(&mut self, name: &str, ready: impl Fn(&str) -> bool) {
        let start = Instant::now();
        while !ready(name) {
            let exited = self
                .children
                .iter_mut()
                .find(|(n, _)| n == name)
                .and_then(|(_, c)| c.try_wait().unwrap());
            if exited.is_some() || start.elapsed() > START_LIMIT {
                panic!("{name} did not start ({exited:?}):\n{}", self.log(name));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.logs.join(format!("{name}.log"))).unwrap_or_default()
    }
}

impl Drop for LoopbackCluster {
    fn drop(&mut self) {
        for (_, child) in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `n` distinct loopback ports that were free a moment ago.
fn free_ports(n: usize) -> Vec<u16> {
    let held: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    held.iter()
        .map(|l| l.local_addr().unwrap().port())
        .collect()
}

fn port_open(port: u16) -> bool {
    TcpStream::connect(("127.0.0.1", port)).is_ok()
}

/// Whether `GET path` on a loopback port answers 200.
fn http_ok(port: u16, path: &str) -> bool {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    let mut answer = String::new();
    s.write_all(request.as_bytes()).is_ok()
        && s.read_to_string(&mut answer).is_ok()
        && answer.starts_with("HTTP/1.1 200")
}

/// Runs `aftersight` with `args` in `dir`, killed after `limit`.
fn run_bounded(dir: &Path, args: &[&str], limit: Duration) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_aftersight"))
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("aftersight {args:?} ran past {} s", limit.as_secs());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    child.wait_with_output().unwrap()
}

/// Files under `dir` with `extension`, as paths relative to `dir`, sorted.
fn files_with(dir: &Path, extension: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == extension) {
                found.push(p.strip_prefix(dir).unwrap().to_path_buf());
            }
        }
    }
    found.sort();
    found
}

/// A page's text with the moment it was written masked.
fn without_timestamps(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let bytes = html.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        // `YYYY-MM-DD HH:MM UTC` and `YYYY-MM-DDTHH:MM:SS…Z`.
        let stamp = |len: usize| -> bool {
            i + len <= bytes.len()
                && bytes[i..i + len].iter().enumerate().all(|(k, b)| match k {
                    4 | 7 => *b == b'-',
                    10 => *b == b' ' || *b == b'T',
                    13 => *b == b':',
                    _ => b.is_ascii_digit(),
                })
        };
        if stamp(16) {
            out.push_str("<time>");
            i += 16;
            while i < bytes.len() && (bytes[i].is_ascii_digit() || b":.Z+".contains(&bytes[i])) {
                i += 1;
            }
        } else {
            out.push(bytes[i] as char);
            i += 1;
        }
    }
    out
}

#[test]
fn a_scheduler_and_two_executors_on_loopback_give_the_same_rows_and_files() {
    on_runtime(loopback_cluster());
}

async fn loopback_cluster() {
    let tmp = tempfile::tempdir().unwrap();
    let cluster = tokio::task::spawn_blocking({
        let dir = tmp.path().to_path_buf();
        move || LoopbackCluster::start(&dir)
    })
    .await
    .unwrap();
    let wh = tokio::task::spawn_blocking({
        let dir = tmp.path().to_path_buf();
        move || warehouse(&dir)
    })
    .await
    .unwrap();
    compare_engines(&wh, Engine::Ballista(cluster.url().parse().unwrap())).await;

    // The main job on the bundled sample, in process and on the cluster.
    let root = repo_root();
    let local = tmp.path().join("local");
    let remote = tmp.path().join("cluster");
    let url = cluster.url();
    // Both at once: the cluster's run mostly waits on its jobs, the local one computes.
    let (l, r) = tokio::task::spawn_blocking({
        let (root, local, remote) = (root.clone(), local.clone(), remote.clone());
        move || {
            let local_args = ["run", "--quiet", "--out", local.to_str().unwrap()];
            let remote_args = [
                "run",
                "--quiet",
                "--out",
                remote.to_str().unwrap(),
                "--engine",
                "ballista",
                "--engine-url",
                &url,
            ];
            std::thread::scope(|s| {
                let l = s.spawn(|| run_bounded(&root, &local_args, RUN_LIMIT));
                let r = run_bounded(&root, &remote_args, RUN_LIMIT);
                (l.join().unwrap(), r)
            })
        }
    })
    .await
    .unwrap();
    for (name, out) in [("local", &l), ("cluster", &r)] {
        assert!(
            out.status.success(),
            "{name} run failed: {}\nscheduler log:\n{}",
            String::from_utf8_lossy(&out.stderr),
            cluster.log("scheduler")
        );
    }
    let library = library::load(&root.join("queries")).unwrap();
    assert_eq!(
        files_with(&local.join("kpis"), "csv").len(),
        library.len(),
        "a CSV per query"
    );
    for dir in ["kpis", "reports"] {
        let files = files_with(&local.join(dir), "csv");
        assert_eq!(files, files_with(&remote.join(dir), "csv"), "{dir}");
        for f in files {
            let (a, b) = (
                std::fs::read(local.join(dir).join(&f)).unwrap(),
                std::fs::read(remote.join(dir).join(&f)).unwrap(),
            );
            assert!(a == b, "{dir}/{} differs between the engines", f.display());
        }
    }
    for dir in ["reports", "executive"] {
        let pages = files_with(&local.join(dir), "html");
        assert!(!pages.is_empty(), "no page in {dir}");
        assert_eq!(pages, files_with(&remote.join(dir), "html"), "{dir}");
        for p in pages {
            let read = |d: &Path| {
                without_timestamps(&std::fs::read_to_string(d.join(dir).join(&p)).unwrap())
            };
            assert!(
                read(&local) == read(&remote),
                "{dir}/{} differs between the engines",
                p.display()
            );
        }
    }
}

/// Whether this machine lets the test give a process its own mount namespace
/// (root with unshare(1), as on CI).
fn can_hide_folders() -> bool {
    Command::new("unshare")
        .args(["--mount", "--propagation", "private", "true"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn executors_that_cannot_see_the_warehouse_say_so() {
    if !can_hide_folders() {
        eprintln!(
            "skipped: unshare --mount is not allowed here, so no executor can be kept from the files"
        );
        return;
    }
    on_runtime(warehouse_not_shared());
}

async fn warehouse_not_shared() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let wh = tokio::task::spawn_blocking({
        let data = data.clone();
        move || ingest_clean(&repo_root().join("tests/fixtures/mini"), &data.join("wh"))
    })
    .await
    .unwrap();
    let cluster = tokio::task::spawn_blocking({
        let (dir, data) = (tmp.path().join("cluster"), data.clone());
        move || LoopbackCluster::start_with(&dir, 1, Some(&data))
    })
    .await
    .unwrap();
    let settings = SessionSettings {
        engine: Engine::Ballista(cluster.url().parse().unwrap()),
        ..SessionSettings::default()
    };
    let err = match sql::open(&wh, &settings).await {
        Ok(_) => panic!("a session opened though its executor sees an empty folder"),
        Err(e) => e.to_string(),
    };
    let expected = format!(
        "engine ballista at {}: the executors cannot read the warehouse at `{}`; every executor must see it at that same path",
        cluster.url(),
        wh.display()
    );
    assert!(err.starts_with(&expected), "{err}");
}
