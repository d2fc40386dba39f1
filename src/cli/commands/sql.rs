//! `aftersight sql`: ad-hoc, file or library SQL over the warehouse.

use anyhow::Context as _;

use aftersight::settings::Settings;
use aftersight::sql::output::{self, ResultFormat};
use aftersight::sql::{self as sqlmod, library};

use crate::cli::args::SqlArgs;
use crate::cli::usage;

/// Plans the statement, then prints its plan or its rows.
pub async fn run(args: SqlArgs, settings: &Settings) -> anyhow::Result<()> {
    let (sql, bound) = match (args.statement, args.file, args.query) {
        (Some(sql), None, None) => (sql, sqlmod::bind_untyped(&args.params)),
        (None, Some(path), None) => {
            let sql = std::fs::read_to_string(&path)
                .with_context(|| format!("reading `{}`", path.display()))?;
            // A file with a library header binds its declared parameters, defaults first;
            // a value for one it does not declare is typed by its form, as without a header.
            if sql.lines().any(|l| l.trim_start().starts_with("-- name:")) {
                let q = library::QueryFile::parse(&path, &sql)?;
                let (declared, undeclared): (Vec<_>, Vec<_>) = args
                    .params
                    .iter()
                    .cloned()
                    .partition(|(name, _)| q.params.iter().any(|p| &p.name == name));
                let mut bound = q.bind(&declared)?;
                bound.extend(sqlmod::bind_untyped(&undeclared));
                (q.sql, bound)
            } else {
                (sql, sqlmod::bind_untyped(&args.params))
            }
        }
        (None, None, Some(name)) => {
            let q = library::find_in(settings.queries.as_deref(), &name)?;
            let bound = q.bind(&args.params)?;
            (q.sql, bound)
        }
        _ => usage!("give a statement, --file FILE or --query NAME"),
    };
    let format = ResultFormat::from(args.format);
    if format == ResultFormat::Parquet && args.output.is_none() {
        usage!("--format parquet needs --output FILE");
    }
    let started = std::time::Instant::now();
    let ctx = sqlmod::open(&settings.warehouse, &settings.session).await?;
    let opened = started.elapsed();
    let predictions = args.predictions.unwrap_or_else(|| settings.predictions());
    sqlmod::register_predictions(&ctx, &predictions).await?;
    sqlmod::register_warranty(&ctx, &settings.out).await?;
    let df = sqlmod::plan(&ctx, &sql, bound).await?;
    let planned = started.elapsed();
    if args.explain {
        let plan = df.explain(false, false)?.collect().await?;
        output::write_text(&mut std::io::stdout().lock(), &plan, ResultFormat::Table)?;
        return Ok(());
    }
    let mut batches = df.collect().await?;
    if args.timing {
        let ran = started.elapsed();
        eprintln!(
            "time: opened the warehouse in {:.3} s, planned in {:.3} s, ran in {:.3} s ({} rows)",
            opened.as_secs_f64(),
            (planned - opened).as_secs_f64(),
            (ran - planned).as_secs_f64(),
            batches.iter().map(|b| b.num_rows()).sum::<usize>()
        );
    }
    if format == ResultFormat::Csv {
        batches = settings.csv_headers.rename(batches)?;
    }
    match args.output {
        Some(path) if format == ResultFormat::Parquet => output::write_parquet(&path, &batches)?,
        Some(path) => {
            let mut file = std::fs::File::create(&path)
                .with_context(|| format!("creating `{}`", path.display()))?;
            output::write_text(&mut file, &batches, format)?;
        }
        None => output::write_text(&mut std::io::stdout().lock(), &batches, format)?,
    }
    Ok(())
}
