//! Where a session's plans run: in this process, or on an Apache DataFusion
//! Ballista cluster that executes the same plans on its executors.
//!
//! Every session is configured here, so both engines read the warehouse with
//! the same schema and give the same answers. Ballista ships plans, not data:
//! each executor reads the warehouse's files at the paths the plan names, so
//! every executor must see the warehouse at the same path as this process.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use ballista::prelude::{SessionConfigExt, SessionContextExt};
use datafusion::execution::runtime_env::RuntimeEnv;
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::prelude::{SessionConfig, SessionContext};

use super::SqlError;

/// The scheduler port when a URL gives none (Ballista's default).
pub const DEFAULT_SCHEDULER_PORT: u16 = 50050;

/// How long to wait for a scheduler to accept a connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Which engine runs a session's plans.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EngineKind {
    /// DataFusion in this process.
    #[default]
    Local,
    /// A Ballista scheduler and its executors, reached at a URL.
    Ballista,
    /// Ballista's scheduler and one executor started inside this process:
    /// the cluster's planning and shuffles without a cluster.
    Standalone,
}

impl EngineKind {
    /// Every kind, in the order `--help` lists them.
    pub const ALL: [EngineKind; 3] = [
        EngineKind::Local,
        EngineKind::Ballista,
        EngineKind::Standalone,
    ];

    /// The name settings use.
    pub fn name(self) -> &'static str {
        match self {
            EngineKind::Local => "local",
            EngineKind::Ballista => "ballista",
            EngineKind::Standalone => "standalone",
        }
    }
}

impl FromStr for EngineKind {
    type Err = String;

    fn from_str(text: &str) -> Result<EngineKind, String> {
        EngineKind::ALL
            .into_iter()
            .find(|k| k.name() == text.trim())
            .ok_or_else(|| format!("`{text}` is not one of local, ballista, standalone"))
    }
}

/// A Ballista scheduler's address, `df://HOST:PORT` (the port defaults to 50050).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchedulerUrl {
    host: String,
    port: u16,
}

impl SchedulerUrl {
    /// The scheduler's host name or address.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The scheduler's gRPC port.
    pub fn port(&self) -> u16 {
        self.port
    }
}

impl Default for SchedulerUrl {
    /// `df://localhost:50050`, where `aftersight scheduler` listens by default.
    fn default() -> SchedulerUrl {
        SchedulerUrl {
            host: "localhost".into(),
            port: DEFAULT_SCHEDULER_PORT,
        }
    }
}

impl FromStr for SchedulerUrl {
    type Err = String;

    fn from_str(text: &str) -> Result<SchedulerUrl, String> {
        let expected = || format!("`{text}` is not a scheduler URL such as df://localhost:50050");
        let rest = text.trim().strip_prefix("df://").ok_or_else(expected)?;
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        let (host, port) = match rest.rsplit_once(':') {
            Some((host, port)) => (host, port.parse::<u16>().map_err(|_| expected())?),
            None => (rest, DEFAULT_SCHEDULER_PORT),
        };
        let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_');
        if host.is_empty() || !host.chars().all(plain) || port == 0 {
            return Err(expected());
        }
        Ok(SchedulerUrl {
            host: host.to_owned(),
            port,
        })
    }
}

impl fmt::Display for SchedulerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "df://{}:{}", self.host, self.port)
    }
}

/// The engine a session runs on, with what it needs to reach it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Engine {
    /// DataFusion in this process.
    #[default]
    Local,
    /// A Ballista cluster's scheduler.
    Ballista(SchedulerUrl),
    /// Ballista in this process (a scheduler and one executor).
    Standalone,
}

impl Engine {
    /// The engine of a kind; `url` is used by [`EngineKind::Ballista`] only.
    pub fn new(kind: EngineKind, url: Option<SchedulerUrl>) -> Engine {
        match kind {
            EngineKind::Local => Engine::Local,
            EngineKind::Ballista => Engine::Ballista(url.unwrap_or_default()),
            EngineKind::Standalone => Engine::Standalone,
        }
    }

    /// Whether plans run on Ballista (a cluster or the standalone one).
    pub fn is_ballista(&self) -> bool {
        !matches!(self, Engine::Local)
    }
}

impl fmt::Display for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Engine::Local => f.write_str("local"),
            Engine::Ballista(url) => write!(f, "ballista at {url}"),
            Engine::Standalone => f.write_str("ballista standalone"),
        }
    }
}

/// The session configuration for an engine, before aftersight's own options.
///
/// On Ballista it carries Ballista's settings (round-robin repartitioning off,
/// sort-merge joins preferred: they spill, where a hash join's build side must
/// fit each task; uncorrelated scalar subqueries planned as joins) and two of
/// ours. Ballista's static planner, not its adaptive one: the adaptive planner
/// splits a stage under a `SortPreservingMergeExec` that it then refuses, and
/// the job waits forever (the KPI library's `headline_kpis` did). And no plan
/// that leans on an order carried across a shuffle (see
/// [`keeps_order_across_stages`]).
///
/// Both engines read text as `Utf8`, never `Utf8View`: Ballista turns view
/// types off (its Flight frames cannot carry them yet), and in process the
/// failure model's feature query, which joins string-keyed tables several
/// times, held gigabytes of view buffers and ran out of memory with them
/// (benches/README.md). Files read without a declared schema (predictions,
/// outlooks) then have the same column types, and output, on either engine.
pub(crate) fn base_config(engine: &Engine) -> SessionConfig {
    let mut config = if engine.is_ballista() {
        SessionConfig::new_with_ballista().set_bool("ballista.planner.adaptive.enabled", false)
    } else {
        SessionConfig::new()
    };
    let opts = config.options_mut();
    opts.execution.parquet.schema_force_view_types = false;
    opts.sql_parser.map_string_types_to_utf8view = false;
    opts.optimizer.prefer_existing_sort = keeps_order_across_stages(engine);
    config
}

/// Whether plans may rely on rows keeping their order through a
/// repartitioning: true in process, false on Ballista, whose shuffles write
/// and read rows in their own order. On Ballista the warehouse's files are
/// therefore not declared sorted: DataFusion then sorts where a join or a
/// window needs it, instead of trusting the files' order through a shuffle
/// (trusted, a sort-merge join read one side unsorted and matched the wrong
/// owner to a vehicle, and a window function failed).
pub(crate) fn keeps_order_across_stages(engine: &Engine) -> bool {
    !engine.is_ballista()
}

/// A session on `engine` with `config` and, for the local engine, `runtime`
/// (its memory pool and spill folder; executors use their own).
pub(crate) async fn context(
    engine: &Engine,
    config: SessionConfig,
    runtime: Arc<RuntimeEnv>,
) -> Result<SessionContext, SqlError> {
    let state = || {
        SessionStateBuilder::new()
            .with_config(config.clone())
            .with_runtime_env(runtime.clone())
            .with_default_features()
            .build()
    };
    match engine {
        Engine::Local => Ok(SessionContext::new_with_config_rt(config.clone(), runtime)),
        Engine::Ballista(url) => {
            reachable(url).await?;
            SessionContext::remote_with_state(&url.to_string(), state())
                .await
                .map_err(|e| SqlError::Cluster {
                    engine: engine.clone(),
                    reason: e.to_string(),
                })
        }
        Engine::Standalone => SessionContext::standalone_with_state(state())
            .await
            .map_err(|e| SqlError::Cluster {
                engine: engine.clone(),
                reason: e.to_string(),
            }),
    }
}

/// Fails with a clear error unless the scheduler accepts a connection.
async fn reachable(url: &SchedulerUrl) -> Result<(), SqlError> {
    let unreachable = |reason: String| SqlError::Cluster {
        engine: Engine::Ballista(url.clone()),
        reason: format!(
            "cannot reach the scheduler ({reason}); start one with `aftersight scheduler`, \
             or check --engine-url"
        ),
    };
    let connect = tokio::net::TcpStream::connect((url.host(), url.port()));
    match tokio::time::timeout(CONNECT_TIMEOUT, connect).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(unreachable(e.to_string())),
        Err(_) => Err(unreachable(format!(
            "no answer in {} s",
            CONNECT_TIMEOUT.as_secs()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheduler_urls_parse_with_and_without_a_port() {
        let url: SchedulerUrl = "df://10.0.0.5:50070".parse().unwrap();
        assert_eq!((url.host(), url.port()), ("10.0.0.5", 50070));
        assert_eq!(url.to_string(), "df://10.0.0.5:50070");
        let url: SchedulerUrl = "df://scheduler.internal".parse().unwrap();
        assert_eq!(url.to_string(), "df://scheduler.internal:50050");
        for bad in [
            "http://h:1",
            "df://",
            "df://h:port",
            "df://h:0",
            "df://a b:1",
            "h:1",
        ] {
            let err = bad.parse::<SchedulerUrl>().unwrap_err();
            assert!(err.contains("df://localhost:50050"), "{bad}: {err}");
        }
    }

    #[test]
    fn engine_kinds_parse_by_name() {
        for kind in EngineKind::ALL {
            assert_eq!(kind.name().parse::<EngineKind>(), Ok(kind));
        }
        assert!("cluster".parse::<EngineKind>().is_err());
        assert_eq!(
            Engine::new(EngineKind::Ballista, None),
            Engine::Ballista(SchedulerUrl::default())
        );
    }
}
