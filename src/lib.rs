//! # aftersight
//!
//! A batch analytics engine for used-car after-sales market intelligence:
//! repair orders, warranty claims, used-car sales, vehicles, customers,
//! service stations and satisfaction surveys.
//!
//! ## Brief overview
//! - [`schema`]: the domain model, every table and column defined once.
//! - [`generate`]: a seeded synthetic export with planted ground truth
//!   (failure laws, an emerging quality issue, churn, segments, dirt).
//! - [`ingest`]: validated CSV / NDJSON into the Parquet [`warehouse`], with quarantine.
//! - [`sql`]: read-only DataFusion SQL over the warehouse, the KPI library.
//! - [`charts`]: plotters charts with an embedded CJK font, PNG and SVG.
//! - [`executive`]: the one-page executive summary per period.
//! - [`report`]: parameterised HTML / Markdown / CSV reports from specs.
//! - [`settings`]: every setting resolved once (command line, `AFTERSIGHT_*`,
//!   `aftersight.toml`, defaults), for every command.
//! - [`config`]: `aftersight.toml`, its starter file and its checks.
//! - [`error`]: the category of any error, which decides the exit code.
//! - [`pipeline`]: `aftersight run`, the main job, chaining the stages.
//! - [`warranty`]: emerging-issue alarms with false-discovery control.
//! - [`terms`]: every domain word a reader sees, in English and Chinese.
//! - [`usertable`]: a user's own CSV or Parquet table, checked cell by cell.
//! - [`vin`], [`dates`]: VIN check digits and fast ISO dates.
//! - [`fsutil`]: atomic publication of output directories, progress bars.

pub mod charts;
pub mod cluster;
pub mod config;
pub mod dates;
pub mod error;
pub mod executive;
pub mod fsutil;
pub mod generate;
pub mod ingest;
pub mod models;
pub mod pipeline;
pub mod report;
pub mod schema;
pub mod settings;
pub mod sql;
pub mod terms;
pub mod usertable;
pub mod vin;
pub mod warehouse;
pub mod warranty;
