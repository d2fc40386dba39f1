//! The outputs of a report period: charts, CSVs, Markdown and HTML.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Float64Type};
use datafusion::arrow::record_batch::RecordBatch;

use super::spec::{ReportFormat, ReportSpec};
use super::{ReportError, ReportManifest, SectionResult};
use crate::charts::webfont::FAMILY;
use crate::charts::{self, ChartOptions, Columns, Frame, ImageFormat, Lang};
use crate::fsutil;
use crate::sql;
use crate::terms::{self, Kind};

/// Draws every section's chart into `dir/charts/`, as PNG and SVG.
pub(crate) fn draw_charts(
    spec: &ReportSpec,
    manifest: &mut ReportManifest,
    results: &mut [SectionResult],
    dir: &Path,
) -> Result<(), ReportError> {
    let period = manifest.period.clone();
    let valid_through = manifest.data_valid_through.clone();
    let chart_dir = dir.join("charts");
    for (i, section) in spec.sections.iter().enumerate() {
        let (Some(chart), Some(result)) = (&section.chart, results.get_mut(i)) else {
            continue;
        };
        if result.batches.iter().all(|b| b.num_rows() == 0) {
            continue;
        }
        let query = manifest.sections[i].query.clone();
        let chart_err = |source| ReportError::Chart {
            index: i + 1,
            name: query.clone(),
            source,
        };
        let options = ChartOptions {
            title: result.title.clone(),
            subtitle: format!("Period {period} · 统计期 {period}"),
            x_label: chart.x_label.clone().unwrap_or_default(),
            y_label: chart.y_label.clone().unwrap_or_default(),
            footer: charts::footer(&format!("queries/{query}.sql"), &valid_through, Lang::En),
            percent: chart.percent,
            ..ChartOptions::default()
        };
        let columns = Columns {
            x: chart.x.clone(),
            y: chart.y.clone(),
            series: chart.series.clone(),
            order: chart.order.clone(),
        };
        let kind = chart.kind;
        let frame = Frame::from_batches(&result.batches).map_err(chart_err)?;
        let plot = charts::prepare::prepare(kind, &frame, &columns, Lang::En).map_err(chart_err)?;
        fs::create_dir_all(&chart_dir).map_err(fsutil::io_error("create directory", &chart_dir))?;
        let stem = format!("charts/{:02}-{query}", i + 1);
        for format in [ImageFormat::Png, ImageFormat::Svg] {
            let bytes = charts::render_plot(&plot, &options, format).map_err(chart_err)?;
            let file = format!(
                "{stem}.{}",
                if format == ImageFormat::Png {
                    "png"
                } else {
                    "svg"
                }
            );
            let path = dir.join(&file);
            fs::write(&path, &bytes).map_err(fsutil::io_error("write", &path))?;
            manifest.sections[i].charts.push(file.clone());
            manifest.files.push(file.clone());
            if format == ImageFormat::Png {
                result.chart = Some((file, bytes));
            }
        }
    }
    Ok(())
}

/// Writes the CSVs, Markdown and HTML the spec asks for into `dir`.
pub(crate) fn write_files(
    spec: &ReportSpec,
    manifest: &mut ReportManifest,
    results: &[SectionResult],
    dir: &Path,
    headers: sql::output::CsvHeaders,
) -> Result<(), ReportError> {
    let has = |f: ReportFormat| spec.formats.contains(&f);
    if has(ReportFormat::Csv) {
        for (i, result) in results.iter().enumerate() {
            let file = format!("{:02}-{}.csv", i + 1, manifest.sections[i].query);
            let path = dir.join(&file);
            let mut out = fs::File::create(&path).map_err(fsutil::io_error("create", &path))?;
            sql::output::write_safe_csv(&mut out, &result.batches, headers)?;
            manifest.sections[i].csv = Some(file.clone());
            manifest.files.push(file);
        }
    }
    if has(ReportFormat::Md) {
        let path = dir.join("report.md");
        fs::write(&path, render_markdown(spec, manifest, results))
            .map_err(fsutil::io_error("write", &path))?;
        manifest.files.push("report.md".into());
    }
    if has(ReportFormat::Html) {
        let path = dir.join("report.html");
        let html = crate::charts::webfont::embed_font(&render_html(spec, manifest, results))?;
        fs::write(&path, html).map_err(fsutil::io_error("write", &path))?;
        manifest.files.push("report.html".into());
    }
    Ok(())
}

/// A section's table as people read it.
struct TextTable {
    /// Headers in English and Chinese, with units (the column's key when the registry lacks it).
    headers: Vec<[String; 2]>,
    /// Whether each column holds numbers (right-aligned).
    numeric: Vec<bool>,
    /// Each row's cells, formatted by the column's kind (empty for null).
    rows: Vec<Vec<String>>,
}

/// A code in both languages ("brake pads 刹车片"), or the code when the registry lacks it.
fn both_words(kind: Kind, code: &str) -> String {
    match (
        terms::word(kind, code, Lang::En),
        terms::word(kind, code, Lang::Zh),
    ) {
        (Some(en), Some(zh)) => format!("{en} {zh}"),
        _ => code.to_owned(),
    }
}

/// A section's results as text: headers from the column registry, numbers
/// formatted by their kind (`src/terms/columns.csv`). `None` when there are
/// no rows. Each column is cast once per batch.
fn text_table(batches: &[RecordBatch]) -> Option<TextTable> {
    use crate::terms::columns::{self, ColumnFormat};
    let first = batches.iter().find(|b| b.num_rows() > 0)?;
    let schema = first.schema();
    let terms: Vec<_> = schema
        .fields()
        .iter()
        .map(|f| columns::column(f.name()))
        .collect();
    let headers = schema
        .fields()
        .iter()
        .zip(&terms)
        .map(|(f, t)| match t {
            Some(t) => [t.header(Lang::En), t.header(Lang::Zh)],
            None => [f.name().clone(), f.name().clone()],
        })
        .collect();
    // A column is formatted as a number when the registry says so and its values are numbers.
    let formats: Vec<Option<ColumnFormat>> = schema
        .fields()
        .iter()
        .zip(&terms)
        .map(|(f, t)| {
            t.map(|t| t.format)
                .filter(|fmt| fmt.is_numeric() && f.data_type().is_numeric())
        })
        .collect();
    // Code values a reader should not have to decode, named in both languages.
    let kinds: Vec<Option<Kind>> = schema
        .fields()
        .iter()
        .map(|f| match f.name().as_str() {
            "component" => Some(Kind::Component),
            "job_type" => Some(Kind::JobType),
            "coverage" => Some(Kind::Coverage),
            _ => None,
        })
        .collect();
    let mut rows = Vec::new();
    for b in batches {
        let columns: Vec<_> = b
            .columns()
            .iter()
            .zip(&formats)
            .map(|(c, fmt)| {
                cast(
                    c,
                    if fmt.is_some() {
                        &DataType::Float64
                    } else {
                        &DataType::Utf8
                    },
                )
                .ok()
            })
            .collect();
        for r in 0..b.num_rows() {
            rows.push(
                columns
                    .iter()
                    .zip(&formats)
                    .enumerate()
                    .map(|(j, (c, fmt))| match (c, fmt) {
                        (Some(a), Some(fmt)) if a.is_valid(r) => {
                            fmt.format(a.as_primitive::<Float64Type>().value(r), Lang::En)
                        }
                        (Some(a), None) if a.is_valid(r) => {
                            let value = a.as_string::<i32>().value(r);
                            match kinds[j] {
                                Some(kind) => both_words(kind, value),
                                None => value.to_owned(),
                            }
                        }
                        _ => String::new(),
                    })
                    .collect(),
            );
        }
    }
    Some(TextTable {
        headers,
        numeric: formats.iter().map(Option::is_some).collect(),
        rows,
    })
}

/// Escapes text for HTML element content and attribute values.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// An inline PNG (a data URI, so the page stays one self-contained file),
/// shown at half its pixel width: charts are drawn at 2x for sharp screens.
pub fn png_figure(png: &[u8], alt: &str) -> String {
    use base64::Engine as _;
    let width = png_width(png).map_or(960, |w| w / 2);
    format!(
        "<figure><img src=\"data:image/png;base64,{}\" alt=\"{}\" width=\"{width}\" style=\"max-width:100%;height:auto\"></figure>",
        base64::engine::general_purpose::STANDARD.encode(png),
        escape_html(alt)
    )
}

/// Width from a PNG's IHDR chunk.
fn png_width(png: &[u8]) -> Option<u32> {
    let bytes: [u8; 4] = png.get(16..20)?.try_into().ok()?;
    Some(u32::from_be_bytes(bytes))
}

fn escape_md(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace('\n', " ")
}

fn render_markdown(spec: &ReportSpec, m: &ReportManifest, results: &[SectionResult]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# {} · {}\n",
        escape_md(&spec.title),
        escape_md(&spec.title_zh)
    );
    let _ = writeln!(
        out,
        "Period **{}** · generated {} · data valid through **{}**\n",
        m.period, m.generated_at, m.data_valid_through
    );
    for section in results {
        let _ = writeln!(out, "## {}\n", escape_md(&section.title));
        if let Some((file, _)) = &section.chart {
            let _ = writeln!(out, "![{}]({file})\n", escape_md(&section.title));
        }
        let Some(table) = text_table(&section.batches) else {
            out.push_str("_No rows for this period._\n\n");
            continue;
        };
        if !section.show_table {
            continue;
        }
        let escaped = |cells: &[String]| {
            cells
                .iter()
                .map(|c| escape_md(c))
                .collect::<Vec<_>>()
                .join(" | ")
        };
        let headers: Vec<String> = table
            .headers
            .iter()
            .map(|[en, zh]| {
                if en == zh {
                    en.clone()
                } else {
                    format!("{en} · {zh}")
                }
            })
            .collect();
        let _ = writeln!(out, "| {} |", escaped(&headers));
        let align: String = table
            .numeric
            .iter()
            .map(|&n| if n { "---:|" } else { "---|" })
            .collect();
        let _ = writeln!(out, "|{align}");
        for row in &table.rows {
            let _ = writeln!(out, "| {} |", escaped(row));
        }
        out.push('\n');
    }
    out
}

fn render_html(spec: &ReportSpec, m: &ReportManifest, results: &[SectionResult]) -> String {
    let mut out = String::new();
    let title = format!("{} · {}", spec.title, spec.title_zh);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>\
body{{font-family:\"{FAMILY}\",\"Noto Sans CJK SC\",\"PingFang SC\",\"Microsoft YaHei\",system-ui,sans-serif;margin:2rem;color:#222}}\
table{{border-collapse:collapse;margin:0 0 2rem 0;font-size:0.9rem}}\
th,td{{border:1px solid #ccc;padding:0.25rem 0.6rem}} .num{{text-align:right;font-variant-numeric:tabular-nums}} .text{{text-align:left}}\
th{{background:#f3f3f3;vertical-align:bottom}} th .zh{{font-weight:normal;color:#555}}\
.meta{{color:#555}}</style>\n</head>\n<body>\n<h1>{}</h1>\n<p class=\"meta\">Period <b>{}</b> · generated {} · data valid through <b>{}</b></p>\n",
        escape_html(&title),
        escape_html(&title),
        escape_html(&m.period),
        escape_html(&m.generated_at),
        escape_html(&m.data_valid_through)
    );
    if !spec.description.is_empty() {
        let _ = writeln!(out, "<p>{}</p>", escape_html(&spec.description));
    }
    for section in results {
        let _ = writeln!(out, "<h2>{}</h2>", escape_html(&section.title));
        if let Some((_, png)) = &section.chart {
            let _ = writeln!(out, "{}", png_figure(png, &section.title));
        }
        let Some(table) = text_table(&section.batches) else {
            out.push_str("<p><i>No rows for this period.</i></p>\n");
            continue;
        };
        if !section.show_table {
            continue;
        }
        let class = |j: usize| if table.numeric[j] { "num" } else { "text" };
        out.push_str("<table>\n<tr>");
        for (j, [en, zh]) in table.headers.iter().enumerate() {
            let zh = if zh == en {
                String::new()
            } else {
                format!("<br><span class=\"zh\">{}</span>", escape_html(zh))
            };
            let _ = write!(
                out,
                "<th class=\"{}\">{}{zh}</th>",
                class(j),
                escape_html(en)
            );
        }
        out.push_str("</tr>\n");
        for row in &table.rows {
            out.push_str("<tr>");
            for (j, c) in row.iter().enumerate() {
                let _ = write!(out, "<td class=\"{}\">{}</td>", class(j), escape_html(c));
            }
            out.push_str("</tr>\n");
        }
        out.push_str("</table>\n");
    }
    out.push_str("</body>\n</html>\n");
    out
}
