//! SQL over the warehouse with DataFusion: a read-only session whose tables
//! are exactly the files the warehouse manifest lists, the KPI library in
//! `queries/`, and typed parameters.
//!
//! # Safety
//! Statements run with DDL, DML and `SET`-style statements refused
//! (`CREATE`, `COPY`, `INSERT`, `DROP`, …), and the session has no table
//! functions that read files: a query can only see the warehouse tables.
//! Parameters are bound as typed values (`$name` placeholders), never
//! spliced into the SQL text.
//!
//! A session's plans run in this process or on a Ballista cluster
//! ([`engine`]); the rules above hold on both, since statements are checked
//! and planned here either way.

pub mod engine;
pub mod library;
pub mod output;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::ScalarValue;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::error::DataFusionError;
use datafusion::execution::memory_pool::{FairSpillPool, TrackConsumersPool};
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::prelude::{SQLOptions, SessionContext, col};

use crate::schema::Table;
use crate::warehouse::{Manifest, WarehouseError};

pub use self::engine::{Engine, EngineKind, SchedulerUrl};
pub use self::library::{ParamSpec, ParamType, QueryFile};

/// Errors of the SQL layer.
#[derive(Debug, thiserror::Error)]
pub enum SqlError {
    /// The warehouse could not be opened.
    #[error(transparent)]
    Warehouse(#[from] WarehouseError),
    /// The warehouse has no data yet.
    #[error(
        "warehouse `{0}` holds no tables yet; run `aftersight ingest` (or `aftersight run`) first"
    )]
    EmptyWarehouse(PathBuf),
    /// A query file is malformed or missing.
    #[error("{0}")]
    Library(String),
    /// A parameter is unknown or its value has the wrong type.
    #[error("parameter `{name}`: {reason}")]
    Parameter {
        /// Parameter name.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// The statement is not a read-only query.
    #[error("only read-only queries are allowed here ({0})")]
    NotReadOnly(String),
    /// DataFusion rejected or failed the query.
    #[error("query failed")]
    Query(#[from] DataFusionError),
    /// The cluster engine could not be reached or cannot run queries.
    #[error("engine {engine}: {reason}")]
    Cluster {
        /// The engine.
        engine: Engine,
        /// What went wrong, and what to do.
        reason: String,
    },
    /// The cluster's executors cannot read the warehouse's files.
    #[error(
        "engine {engine}: the executors cannot read the warehouse at `{}`; every executor must \
         see it at that same path (a shared file system), because Ballista ships plans, not data \
         (the executor said: {reason})",
        warehouse.display()
    )]
    WarehouseNotShared {
        /// The engine.
        engine: Engine,
        /// The warehouse, as this process sees it.
        warehouse: PathBuf,
        /// The executor's error.
        reason: String,
    },
}

/// Session settings for this 2-core machine.
#[derive(Debug, Clone)]
pub struct SessionSettings {
    /// Bytes DataFusion may use before spilling (sorts, aggregations, joins).
    pub memory_limit: usize,
    /// Where spills go.
    pub spill_dir: PathBuf,
    /// Partitions a query runs in parallel (one per core).
    pub threads: usize,
    /// See the warehouse as it was at the end of this day (days since the
    /// epoch): fact tables keep only rows whose event date is on or before it,
    /// for reproducible historical runs.
    pub as_of: Option<i32>,
    /// Where plans run: in this process or on a Ballista cluster.
    pub engine: Engine,
}

impl Default for SessionSettings {
    /// 4 GiB before spilling (of the machine's 24), spills in the system
    /// temporary directory, two partitions (this machine's cores), all data,
    /// in this process.
    fn default() -> SessionSettings {
        SessionSettings {
            memory_limit: 4 << 30,
            spill_dir: std::env::temp_dir(),
            threads: 2,
            as_of: None,
            engine: Engine::Local,
        }
    }
}

/// Opens a read-only DataFusion session over the tables of a warehouse, on
/// the engine the settings name.
pub async fn open(root: &Path, settings: &SessionSettings) -> Result<SessionContext, SqlError> {
    let manifest = Manifest::load(root)?;
    if manifest.batch == 0 {
        return Err(SqlError::EmptyWarehouse(root.to_path_buf()));
    }
    let mut config = engine::base_config(&settings.engine)
        .with_target_partitions(settings.threads.max(1))
        .with_information_schema(true);
    let opts = config.options_mut();
    opts.execution.collect_statistics = true;
    opts.execution.parquet.enable_page_index = true;
    opts.execution.parquet.pruning = true;
    // A fair pool: each spilling operator (sorts, aggregations) gets an even
    // share of what the non-spilling ones (hash-join build sides) leave, so two
    // parallel sorts cannot starve each other as they do under a greedy pool.
    let pool = TrackConsumersPool::new(
        FairSpillPool::new(settings.memory_limit),
        std::num::NonZeroUsize::new(5).expect("five is not zero"),
    );
    let runtime = RuntimeEnvBuilder::new()
        .with_memory_pool(Arc::new(pool))
        .with_temp_file_path(&settings.spill_dir)
        .build_arc()?;
    let ctx = engine::context(&settings.engine, config, runtime).await?;
    let mut first_table_with_files = None;
    for table in Table::ALL {
        let files = &manifest.table(table).files;
        let mut urls = Vec::with_capacity(files.len());
        for f in files {
            let path = root.join(f).canonicalize().map_err(|e| {
                SqlError::Library(format!(
                    "warehouse file `{f}` listed in the manifest is missing: {e}"
                ))
            })?;
            urls.push(ListingTableUrl::parse(path.to_string_lossy())?);
        }
        let sort_column = table.event_column().unwrap_or(table.primary_key());
        let mut options =
            ListingOptions::new(Arc::new(ParquetFormat::default())).with_file_extension(".parquet");
        if engine::keeps_order_across_stages(&settings.engine) {
            options = options.with_file_sort_order(vec![vec![col(sort_column).sort(true, false)]]);
        }
        let schema = table.arrow_schema();
        let provider: Arc<dyn datafusion::catalog::TableProvider> = if urls.is_empty() {
            empty_table(schema)
        } else {
            first_table_with_files.get_or_insert(table.name());
            let config = ListingTableConfig::new_with_multi_paths(urls)
                .with_listing_options(options)
                .with_schema(schema);
            // The session's file-statistics cache: each file's statistics are
            // collected once per session, not again for every plan.
            Arc::new(
                ListingTable::try_new(config)?
                    .with_cache(ctx.runtime_env().cache_manager.get_file_statistic_cache()),
            )
        };
        match (settings.as_of, table.event_column()) {
            (Some(day), Some(event)) => {
                // The fact table as of `day`: a view over the files, so filters
                // still prune row groups by their statistics.
                let hidden = format!("{}_all_dates", table.name());
                ctx.register_table(hidden.as_str(), provider)?;
                let view = ctx
                    .sql(&format!(
                        "SELECT * FROM {hidden} WHERE CAST({event} AS DATE) <= DATE '{}'",
                        crate::dates::format_date(day)
                    ))
                    .await?
                    .into_view();
                ctx.register_table(table.name(), view)?;
            }
            _ => {
                ctx.register_table(table.name(), provider)?;
            }
        }
    }
    if let (true, Some(table)) = (settings.engine.is_ballista(), first_table_with_files) {
        executors_read(&ctx, root, &settings.engine, table).await?;
    }
    Ok(ctx)
}

/// How long a cluster may take to run its first row before the session gives up.
const FIRST_QUERY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);

/// Fails with a clear error unless the cluster's executors read one row of
/// `table`: the files are there, at the same path, for them too.
async fn executors_read(
    ctx: &SessionContext,
    root: &Path,
    engine: &Engine,
    table: &str,
) -> Result<(), SqlError> {
    let first_row = async { ctx.table(table).await?.limit(0, Some(1))?.collect().await };
    match tokio::time::timeout(FIRST_QUERY_TIMEOUT, first_row).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => {
            let reason = e.to_string();
            let missing = ["not found", "No such file", "NotFound"]
                .iter()
                .any(|m| reason.contains(m));
            Err(if missing {
                SqlError::WarehouseNotShared {
                    engine: engine.clone(),
                    warehouse: root.to_path_buf(),
                    reason,
                }
            } else {
                SqlError::Cluster {
                    engine: engine.clone(),
                    reason: format!("a first query on `{table}` failed: {reason}"),
                }
            })
        }
        Err(_) => Err(SqlError::Cluster {
            engine: engine.clone(),
            reason: format!(
                "no executor answered a first query in {} s; are executors running and \
                 registered with this scheduler (`aftersight executor --scheduler-host ...`)?",
                FIRST_QUERY_TIMEOUT.as_secs()
            ),
        }),
    }
}

/// A table with `schema` and no rows, that either engine can plan (a view
/// over an empty relation; Ballista cannot ship in-memory tables).
pub fn empty_table(
    schema: datafusion::arrow::datatypes::SchemaRef,
) -> Arc<dyn datafusion::catalog::TableProvider> {
    use datafusion::logical_expr::{EmptyRelation, LogicalPlan};
    let schema = datafusion::common::DFSchema::try_from(schema.as_ref().clone())
        .expect("an arrow schema without duplicate names is a valid plan schema");
    let plan = LogicalPlan::EmptyRelation(EmptyRelation {
        produce_one_row: false,
        schema: Arc::new(schema),
    });
    Arc::new(datafusion::catalog::view::ViewTable::new(plan, None))
}

/// The last day with repair orders in the warehouse (days since the epoch),
/// or `None` when it has none: the date the data is valid through.
pub async fn data_valid_through(ctx: &SessionContext) -> Result<Option<i32>, SqlError> {
    use datafusion::arrow::array::{Array, AsArray};
    use datafusion::arrow::datatypes::Date32Type;
    let batches = query(
        ctx,
        "SELECT CAST(max(opened_at) AS DATE) AS d FROM repair_orders",
        Default::default(),
    )
    .await?;
    Ok(batches
        .first()
        .filter(|b| b.num_rows() > 0 && b.column(0).is_valid(0))
        .map(|b| b.column(0).as_primitive::<Date32Type>().value(0)))
}

/// Registers every published predictions dataset under `dir`
/// (`dir/NAME/predictions.parquet`, written by `aftersight predict`) as the
/// table `NAME_predictions`, so that SQL and reports can join risk lists to
/// the warehouse. A missing `dir` registers nothing. Returns the table names.
pub async fn register_predictions(
    ctx: &SessionContext,
    dir: &Path,
) -> Result<Vec<String>, SqlError> {
    let mut names = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(names);
    };
    let files: Vec<(String, PathBuf)> = entries
        .flatten()
        .filter_map(|e| {
            let file = e.path().join("predictions.parquet");
            let name = e.file_name().to_string_lossy().into_owned();
            (plain_name(&name) && file.is_file()).then(|| (format!("{name}_predictions"), file))
        })
        .collect();
    register_files(ctx, files, &mut names).await?;
    Ok(names)
}

/// Names a table a plain identifier can reach: letters, digits and `_`.
fn plain_name(name: &str) -> bool {
    name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Registers `(table, file)` pairs, in name order, adding the names to `names`.
async fn register_files(
    ctx: &SessionContext,
    mut files: Vec<(String, PathBuf)>,
    names: &mut Vec<String>,
) -> Result<(), SqlError> {
    files.sort();
    for (name, file) in files {
        ctx.register_parquet(&name, file.to_string_lossy().as_ref(), Default::default())
            .await?;
        names.push(name);
    }
    Ok(())
}

/// Registers the warranty stage's outlook tables, when they are there:
/// `OUT/warranty/outlook/NAME.parquet` as `warranty_NAME` and
/// `OUT/warranty/backtest/NAME.parquet` as `warranty_backtest_NAME`.
/// Returns the names registered.
pub async fn register_warranty(ctx: &SessionContext, out: &Path) -> Result<Vec<String>, SqlError> {
    let mut names = Vec::new();
    for (dir, prefix) in [
        (crate::warranty::outlook_dir(out), "warranty_"),
        (crate::warranty::backtest_dir(out), "warranty_backtest_"),
    ] {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let files: Vec<(String, PathBuf)> = entries
            .flatten()
            .filter_map(|e| {
                let path = e.path();
                let stem = path.file_stem()?.to_str()?.to_owned();
                (plain_name(&stem) && path.extension().is_some_and(|x| x == "parquet"))
                    .then(|| (format!("{prefix}{stem}"), path))
            })
            .collect();
        register_files(ctx, files, &mut names).await?;
    }
    Ok(names)
}

/// Types ad-hoc parameter values by their form: whole number, number,
/// `YYYY-MM-DD` date, otherwise text. Values are bound, never spliced.
pub fn bind_untyped(given: &[(String, String)]) -> HashMap<String, ScalarValue> {
    given
        .iter()
        .map(|(name, value)| {
            let v = value.trim();
            let scalar = if let Ok(i) = v.parse::<i64>() {
                ScalarValue::Int64(Some(i))
            } else if let Ok(x) = v.parse::<f64>() {
                ScalarValue::Float64(Some(x))
            } else if let Some(d) = crate::dates::parse_date(v) {
                ScalarValue::Date32(Some(d))
            } else {
                ScalarValue::Utf8(Some(value.clone()))
            };
            (name.clone(), scalar)
        })
        .collect()
}

/// The statement options that make a session read-only.
pub fn read_only() -> SQLOptions {
    SQLOptions::new()
        .with_allow_ddl(false)
        .with_allow_dml(false)
        .with_allow_statements(false)
}

/// Runs one read-only statement with typed parameters.
pub async fn query(
    ctx: &SessionContext,
    sql: &str,
    params: HashMap<String, ScalarValue>,
) -> Result<Vec<RecordBatch>, SqlError> {
    Ok(plan(ctx, sql, params).await?.collect().await?)
}

/// Plans one read-only statement with typed parameters.
pub async fn plan(
    ctx: &SessionContext,
    sql: &str,
    params: HashMap<String, ScalarValue>,
) -> Result<datafusion::dataframe::DataFrame, SqlError> {
    let df = ctx
        .sql_with_options(sql, read_only())
        .await
        .map_err(|e| match e {
            DataFusionError::Plan(msg) if msg.contains("not supported") || msg.contains("Only") => {
                SqlError::NotReadOnly(msg)
            }
            other => SqlError::Query(other),
        })?;
    let mut missing: Vec<String> = df
        .logical_plan()
        .get_parameter_types()?
        .into_keys()
        .map(|k| k.trim_start_matches('$').to_owned())
        .filter(|k| !params.contains_key(k))
        .collect();
    missing.sort();
    if let Some(name) = missing.first() {
        return Err(SqlError::Parameter {
            name: name.clone(),
            reason: format!(
                "the statement uses `${name}` and no value was given; pass it with `--param {name}=VALUE`, \
                 or declare `-- param: {name} TYPE DEFAULT` in the file's header"
            ),
        });
    }
    if params.is_empty() {
        return Ok(df);
    }
    let values = params.into_iter().map(|(k, v)| (k, v.into())).collect();
    Ok(df.with_param_values(datafusion::common::ParamValues::Map(values))?)
}
