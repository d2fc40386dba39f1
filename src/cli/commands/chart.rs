//! `aftersight chart`: one chart from a library query, ad-hoc SQL or a file.

use std::path::Path;

use anyhow::Context as _;

use aftersight::charts::{self, ChartKind, ChartOptions, Columns, Frame, ImageFormat, Lang};
use aftersight::models::features;
use aftersight::settings::Settings;
use aftersight::sql::library::{self, QueryFile};
use aftersight::sql::{self as sqlmod};
use aftersight::usertable::{Check, Times, UserTable};

use crate::cli::args::ChartArgs;
use crate::cli::usage;

/// A library or feature query by name.
fn find_query(queries: Option<&Path>, name: &str) -> anyhow::Result<QueryFile> {
    if let Some(feature) = name.strip_prefix("features/") {
        return Ok(features::load(
            features::default_dir(queries).as_deref(),
            feature,
        )?);
    }
    Ok(library::find_in(queries, name)?)
}

/// What the named columns of a user's file must hold for this kind of chart.
fn input_checks(cmd: &ChartArgs) -> Vec<(&str, Check)> {
    let (x_check, y_check) = match cmd.kind {
        ChartKind::Weibull => (Check::Time(Times::Positive), Check::Flag),
        ChartKind::KaplanMeier | ChartKind::Mcf => (Check::Time(Times::NonNegative), Check::Flag),
        ChartKind::Roc | ChartKind::PrecisionRecall | ChartKind::Calibration | ChartKind::Lift => {
            (Check::Flag, Check::Number)
        }
        ChartKind::Histogram => (Check::Number, Check::Number),
        _ => (Check::Any, Check::Number),
    };
    let mut checks: Vec<(&str, Check)> = Vec::new();
    checks.extend(cmd.x.as_deref().map(|x| (x, x_check)));
    checks.extend(cmd.y.iter().map(|y| (y.as_str(), y_check)));
    checks.extend(cmd.series.as_deref().map(|s| (s, Check::Any)));
    checks.extend(cmd.order.as_deref().map(|o| (o, Check::Number)));
    checks
}

/// Renders the chart and writes it atomically.
pub async fn run(cmd: ChartArgs, settings: &Settings) -> anyhow::Result<()> {
    let Some(format) = ImageFormat::from_path(&cmd.out) else {
        usage!(
            "--out `{}`: the file name must end in .png or .svg",
            cmd.out.display()
        );
    };
    let zh = cmd.lang == Lang::Zh;
    let (frame, title, source, valid_through) = if let Some(path) = &cmd.input {
        let table = UserTable::read(path)?;
        let frame = table.frame(&input_checks(&cmd))?;
        let name = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        (frame, name.clone(), name, None)
    } else {
        let (sql, bound, title, source) = match (&cmd.query, &cmd.sql) {
            (Some(name), None) => {
                let q = find_query(settings.queries.as_deref(), name)?;
                let bound = q.bind(&cmd.params)?;
                let title = if zh && !q.title_zh.is_empty() {
                    q.title_zh.clone()
                } else {
                    q.title.clone()
                };
                (q.sql, bound, title, format!("queries/{name}.sql"))
            }
            (None, Some(sql)) => (
                sql.clone(),
                sqlmod::bind_untyped(&cmd.params),
                "Ad-hoc query".to_owned(),
                "ad-hoc SQL".to_owned(),
            ),
            _ => usage!("give --query NAME, --sql SQL or --input FILE"),
        };
        let sql = match &cmd.sql_filter {
            Some(condition) => format!("SELECT * FROM ({sql}) AS chart_data WHERE {condition}"),
            None => sql,
        };
        let ctx = sqlmod::open(&settings.warehouse, &settings.session).await?;
        let predictions = cmd
            .predictions
            .clone()
            .unwrap_or_else(|| settings.predictions());
        sqlmod::register_predictions(&ctx, &predictions).await?;
        let valid_through = sqlmod::data_valid_through(&ctx)
            .await?
            .map(aftersight::dates::format_date);
        let batches = sqlmod::query(&ctx, &sql, bound).await?;
        (Frame::from_batches(&batches)?, title, source, valid_through)
    };
    let subtitle = cmd.subtitle.clone().unwrap_or_else(|| {
        cmd.params
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(" · ")
    });
    let footer = match &valid_through {
        Some(date) => charts::footer(&source, date, cmd.lang),
        None if zh => format!("数据来源：{source} · aftersight"),
        None => format!("Source: {source} · aftersight"),
    };
    let options = ChartOptions {
        title: cmd.title.clone().unwrap_or(title),
        subtitle,
        x_label: cmd.x_label.clone().unwrap_or_default(),
        y_label: cmd.y_label.clone().unwrap_or_default(),
        footer,
        percent: cmd.percent,
        width: cmd.width.clamp(200, 4000),
        height: cmd.height.clamp(150, 4000),
        lang: cmd.lang,
    };
    let columns = Columns {
        x: cmd.x.clone(),
        y: cmd.y.clone(),
        series: cmd.series.clone(),
        order: cmd.order.clone(),
    };
    let bytes = charts::render(cmd.kind, &frame, &columns, &options, format)?;
    aftersight::fsutil::write_atomically(&cmd.out, &bytes)
        .with_context(|| format!("writing `{}`", cmd.out.display()))?;
    eprintln!(
        "wrote {} ({} rows, {} bytes)",
        cmd.out.display(),
        frame.rows(),
        bytes.len()
    );
    Ok(())
}
