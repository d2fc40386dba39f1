//! The stages after ingest: kpis, reliability, warranty, report, models and summary.
//! Each reads the warehouse (and what the stages before it published) and
//! publishes its own outputs under `OUT/`.

use std::path::{Path, PathBuf};

use super::kpis::run_kpis;
use super::record::PreviousRun;
use super::stage::{Outcome, Stage, StageReport};
use super::{RunConfig, RunError};
use crate::fsutil::MANIFEST_FILE;

/// What the stages after ingest share.
pub(crate) struct Stages<'a> {
    pub(crate) config: &'a RunConfig,
    pub(crate) raw: &'a Path,
    pub(crate) warehouse: &'a Path,
    pub(crate) queries: Option<PathBuf>,
}

impl Stages<'_> {
    /// Whether the outputs a skipped stage would leave are still on disk.
    pub(crate) fn outputs_exist(&self, stage: Stage, previous: Option<&PreviousRun>) -> bool {
        let out = &self.config.out;
        match stage {
            Stage::Raw | Stage::Ingest => false,
            Stage::Kpis => out.join("kpis").join(MANIFEST_FILE).is_file(),
            Stage::Report => self
                .config
                .reports
                .iter()
                .all(|r| out.join("reports").join(r).is_dir()),
            Stage::Reliability => out.join("reliability/weibull.parquet").is_file(),
            Stage::Warranty => {
                crate::warranty::alarms_path(out).is_file()
                    && crate::warranty::outlook_dir(out)
                        .join(MANIFEST_FILE)
                        .is_file()
                    && crate::warranty::backtest_dir(out)
                        .join(MANIFEST_FILE)
                        .is_file()
            }
            Stage::Models => ["failure", "churn", "segments"].iter().all(|m| {
                out.join("predictions")
                    .join(m)
                    .join("predictions.parquet")
                    .is_file()
            }),
            Stage::Summary => previous.is_some_and(|p| {
                !p.executive_summary.is_empty()
                    && p.executive_summary.iter().all(|f| Path::new(f).is_file())
            }),
        }
    }

    /// Runs one stage; the summary also returns its pages.
    pub(crate) async fn run(&self, stage: Stage) -> Result<(StageReport, Vec<String>), RunError> {
        match stage {
            Stage::Kpis => Ok((self.kpis().await?, Vec::new())),
            Stage::Report => Ok((self.reports().await?, Vec::new())),
            Stage::Reliability => Ok((self.reliability().await?, Vec::new())),
            Stage::Warranty => Ok((self.warranty().await?, Vec::new())),
            Stage::Models => Ok((self.models().await?, Vec::new())),
            Stage::Summary => self.summary().await,
            // The run handles these two itself, before the loop over the downstream stages.
            Stage::Raw | Stage::Ingest => unreachable!("{stage} is not a downstream stage"),
        }
    }

    async fn kpis(&self) -> Result<StageReport, RunError> {
        let config = self.config;
        let kpis = run_kpis(
            &config.out,
            self.warehouse,
            self.queries.as_deref(),
            &config.settings,
            config.csv_headers,
        )
        .await?;
        let rows = kpis.queries.iter().map(|q| q.rows).sum::<usize>();
        let detail = format!(
            "{} queries, {rows} rows, written to {}",
            kpis.queries.len(),
            config.out.join("kpis").display()
        );
        Ok(StageReport::new(Stage::Kpis, Outcome::Ran, detail).with_rows(rows as u64))
    }

    async fn reports(&self) -> Result<StageReport, RunError> {
        let config = self.config;
        let mut notes = Vec::new();
        for name in &config.reports {
            let report = crate::report::run(&crate::report::ReportConfig {
                name: name.clone(),
                period: None,
                warehouse: self.warehouse.to_path_buf(),
                queries: self.queries.clone(),
                out: config.out.clone(),
                dry_run: false,
                settings: config.settings.clone(),
                csv_headers: config.csv_headers,
            })
            .await?;
            notes.push(format!(
                "{name} report for {} ({} sections) in {}",
                report.period,
                report.sections.len(),
                report.directory.display()
            ));
        }
        Ok(StageReport::new(
            Stage::Report,
            Outcome::Ran,
            notes.join("; "),
        ))
    }

    async fn summary(&self) -> Result<(StageReport, Vec<String>), RunError> {
        let config = self.config;
        let summary_config = crate::executive::SummaryConfig {
            warehouse: self.warehouse.to_path_buf(),
            out: config.out.clone(),
            queries: self.queries.clone(),
            period: None,
            lang: crate::charts::Lang::En,
            settings: config.settings.clone(),
        };
        let pages: Vec<String> =
            crate::executive::write_languages(&summary_config, &config.languages)
                .await
                .map_err(RunError::Summary)?
                .iter()
                .map(|page| page.file.display().to_string())
                .collect();
        let detail = format!("executive summary in {}", pages.join(" and "));
        Ok((
            StageReport::new(Stage::Summary, Outcome::Ran, detail),
            pages,
        ))
    }

    async fn session(&self, stage: Stage) -> Result<datafusion::prelude::SessionContext, RunError> {
        crate::sql::open(self.warehouse, &self.config.settings)
            .await
            .map_err(|e| RunError::Models {
                stage,
                source: e.into(),
            })
    }

    fn paths(&self) -> crate::models::jobs::ModelPaths {
        crate::models::jobs::ModelPaths {
            queries: crate::models::features::default_dir(self.queries.as_deref()),
            models: self.config.out.join("models"),
            predictions: self.config.out.join("predictions"),
        }
    }

    async fn reliability(&self) -> Result<StageReport, RunError> {
        let fail = |source| RunError::Models {
            stage: Stage::Reliability,
            source,
        };
        let ctx = self.session(Stage::Reliability).await?;
        let paths = self.paths();
        let as_of = crate::models::jobs::data_valid_through(&ctx)
            .await
            .map_err(fail)?;
        let fleet = crate::models::life::fleet(
            &ctx,
            paths.queries.as_deref(),
            &crate::dates::format_date(as_of),
            10,
        )
        .await
        .map_err(fail)?;
        let dir = self.config.out.join("reliability");
        crate::models::life::write_fleet(&dir, &fleet).map_err(fail)?;
        let detail = format!(
            "{} Weibull fits, {} Kaplan-Meier curves, MCF over {} repair times, in {}",
            fleet.fits.len(),
            fleet.kaplan_meier.len(),
            fleet.mcf.len(),
            dir.display()
        );
        Ok(StageReport::new(Stage::Reliability, Outcome::Ran, detail)
            .with_rows(fleet.fits.len() as u64))
    }

    async fn warranty(&self) -> Result<StageReport, RunError> {
        use crate::warranty::{self, WarrantyError, alerts};
        let ctx = crate::sql::open(self.warehouse, &self.config.settings)
            .await
            .map_err(|e| RunError::Warranty(e.into()))?;
        let run = async {
            let as_of = crate::sql::data_valid_through(&ctx)
                .await?
                .ok_or(WarrantyError::NoData)?;
            let queries = warranty::queries(self.queries.as_deref())?;
            let rule = alerts::AlertRule::default();
            let raised = alerts::monitor(&ctx, &queries, as_of, &rule).await?;
            let path = warranty::write_alarms(&self.config.out, &raised)?;
            let (live, backtest) =
                warranty::outlook::standard(self.warehouse, &self.config.out, as_of)?;
            Ok::<_, WarrantyError>((raised, path, live, backtest))
        };
        let (raised, path, live, backtest) = run.await.map_err(RunError::Warranty)?;
        let new = raised.iter().filter(|a| a.new_this_month).count();
        let (reserve, low, high) = live.reserve_cny;
        let mut detail = format!(
            "{} emerging-issue alarms ({new} new this month) in {}; reserve {reserve:.0} CNY (90 % {low:.0} to {high:.0})",
            raised.len(),
            path.display()
        );
        if let Some(b) = &backtest.backtest {
            detail.push_str(&format!(
                "; backtest as of {}: {:.0} claims forecast over {} months, {} booked ({:+.1} %)",
                backtest.as_of,
                b.forecast_claims,
                b.months,
                b.actual_claims,
                100.0 * b.total_error
            ));
        }
        detail.push_str(&format!(
            " in {}",
            warranty::outlook_dir(&self.config.out)
                .parent()
                .unwrap_or(&self.config.out)
                .display()
        ));
        Ok(StageReport::new(Stage::Warranty, Outcome::Ran, detail).with_rows(raised.len() as u64))
    }

    async fn models(&self) -> Result<StageReport, RunError> {
        use crate::models::classifier::Target;
        use crate::models::jobs::{self, ModelName};
        let fail = |source| RunError::Models {
            stage: Stage::Models,
            source,
        };
        let ctx = self.session(Stage::Models).await?;
        let paths = self.paths();
        let truth = self.raw.join("truth.json");
        let truth = truth.is_file().then_some(truth.as_path());
        let seed = self.config.seed;
        let mut notes = Vec::new();
        for target in [Target::Failure, Target::Churn] {
            let (version, report) = jobs::train_classifier(&ctx, &paths, target, None, seed, truth)
                .await
                .map_err(fail)?;
            let oracle = report
                .oracle
                .as_ref()
                .map(|o| format!(", oracle {:.3}, gap {:+.3}", o.roc_auc, o.gap))
                .unwrap_or_default();
            notes.push(format!(
                "{} {version} ({}, CV ROC AUC {:.3}{oracle})",
                target.name(),
                report.algorithm.describe(),
                report.cross_validation.roc_auc
            ));
        }
        let (version, _, report) = jobs::train_segments(&ctx, &paths, None, None, seed, truth)
            .await
            .map_err(fail)?;
        notes.push(format!(
            "segments {version} (k = {}{})",
            report.k,
            report
                .adjusted_rand_index
                .map(|a| format!(", ARI {a:.3} vs planted"))
                .unwrap_or_default()
        ));
        let mut scored = 0;
        for name in [ModelName::Failure, ModelName::Churn, ModelName::Segments] {
            scored += jobs::predict(&ctx, &paths, name, None)
                .await
                .map_err(fail)?
                .rows;
        }
        let detail = format!(
            "{}; predictions in {}",
            notes.join("; "),
            paths.predictions.display()
        );
        Ok(StageReport::new(Stage::Models, Outcome::Ran, detail).with_rows(scored as u64))
    }
}
