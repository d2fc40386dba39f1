//! Helpers shared by the integration tests.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use aftersight::generate::export::ExportFormat;
use aftersight::generate::{GenerateConfig, generate};
use aftersight::schema::Table;
use datafusion::arrow::array::AsArray;
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::record_batch::RecordBatch;

/// Generates an export into `dir/name` and returns its path.
pub fn gen_into(
    dir: &Path,
    name: &str,
    scale: f64,
    seed: u64,
    dirt: f64,
    format: ExportFormat,
) -> PathBuf {
    let out = dir.join(name);
    generate(&GenerateConfig {
        scale,
        seed,
        format,
        dirt,
        out: out.clone(),
        progress: false,
        emerging: Some(aftersight::generate::EmergingIssue::PLANTED),
    })
    .expect("generate");
    out
}

/// A CSV table read as strings, keyed by column name.
pub struct Rows {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Rows {
    pub fn col(&self, name: &str) -> usize {
        self.header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no column {name}"))
    }

    pub fn values<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a str> + 'a {
        let i = self.col(name);
        self.rows.iter().map(move |r| r[i].as_str())
    }

    /// Rows as maps, for readable assertions.
    pub fn records(&self) -> Vec<HashMap<&str, &str>> {
        self.rows
            .iter()
            .map(|r| {
                self.header
                    .iter()
                    .map(String::as_str)
                    .zip(r.iter().map(String::as_str))
                    .collect()
            })
            .collect()
    }
}

/// Reads `dir/<table>.csv` of a clean export.
pub fn read_csv(dir: &Path, table: Table) -> Rows {
    let mut rdr =
        csv::Reader::from_path(dir.join(format!("{}.csv", table.name()))).expect("open csv");
    let header = rdr
        .headers()
        .expect("header")
        .iter()
        .map(str::to_owned)
        .collect();
    let rows = rdr
        .records()
        .map(|r| r.expect("clean row").iter().map(str::to_owned).collect())
        .collect();
    Rows { header, rows }
}

/// The truth file.
pub fn truth(dir: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(dir.join("truth.json")).expect("truth.json"))
        .expect("json")
}

/// Ingests a clean export directory into `warehouse` (split into two
/// segments whatever its size) and checks that nothing was quarantined.
pub fn ingest_clean(input: &Path, warehouse: &Path) -> PathBuf {
    use aftersight::ingest::source::Encoding;
    use aftersight::ingest::{IngestConfig, ingest};
    let config = IngestConfig {
        inputs: vec![input.to_path_buf()],
        warehouse: warehouse.to_path_buf(),
        encoding: Encoding::Auto,
        max_bad_fraction: 0.0,
        progress: false,
        chunk_bytes: 4096,
        memory_budget: aftersight::ingest::DEFAULT_MEMORY_BUDGET,
    };
    let report = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(ingest(&config))
        .unwrap();
    assert_eq!(report.rows_quarantined, 0, "{} is clean", input.display());
    warehouse.to_path_buf()
}

/// Headless Chromium, if the machine has it: `AFTERSIGHT_CHROMIUM`, else
/// `chromium` or `chromium-browser` on the PATH. With
/// `AFTERSIGHT_REQUIRE_BROWSER=1` (CI sets it) a missing browser fails the test.
pub fn chromium() -> Option<PathBuf> {
    let found = std::env::var_os("AFTERSIGHT_CHROMIUM")
        .map(PathBuf::from)
        .or_else(|| {
            ["chromium", "chromium-browser", "google-chrome"]
                .iter()
                .find_map(|name| {
                    std::env::var_os("PATH")?
                        .to_str()?
                        .split(':')
                        .map(|dir| Path::new(dir).join(name))
                        .find(|p| p.is_file())
                })
        });
    if found.is_none() {
        assert!(
            std::env::var_os("AFTERSIGHT_REQUIRE_BROWSER").is_none(),
            "AFTERSIGHT_REQUIRE_BROWSER is set but no Chromium was found (apt-get install chromium)"
        );
        eprintln!(
            "NOTE: no Chromium on this machine; the browser check is skipped (apt-get install chromium)"
        );
    }
    found
}

/// Opens an HTML page in headless Chromium and returns (images, images
/// loaded with a size).
pub fn browser_image_check(browser: &Path, page: &Path) -> (usize, usize) {
    let line = browser_probe(
        browser,
        page,
        r#"window.addEventListener('load', () => {
  const images = [...document.images];
  const loaded = images.filter(i => i.complete && i.naturalWidth > 0 && i.naturalHeight > 0).length;
  report(`images=${images.length} loaded=${loaded}`);
});"#,
    );
    (count(&line, "images="), count(&line, "loaded="))
}

/// Opens an HTML page in headless Chromium and draws two different strings of
/// its Chinese characters in the page's own font. Returns (distinct Chinese
/// characters on the page, whether the two drawings are the same pixels):
/// without a font that has the glyphs, both are rows of the same empty boxes.
pub fn browser_font_check(browser: &Path, page: &Path) -> (usize, bool) {
    let line = browser_probe(
        browser,
        page,
        r#"window.addEventListener('load', async () => {
  const cjk = [...new Set([...document.body.innerText].filter(c => /[\u4e00-\u9fff]/.test(c)))];
  const [a, b] = [cjk.slice(0, 4).join(''), cjk.slice(4, 8).join('')];
  const font = '32px ' + getComputedStyle(document.body).fontFamily;
  await document.fonts.load(font, a + b);
  const draw = text => {
    const canvas = document.createElement('canvas');
    [canvas.width, canvas.height] = [200, 48];
    const context = canvas.getContext('2d');
    context.font = font;
    context.fillText(text, 0, 36);
    return canvas.toDataURL();
  };
  report(`chars=${cjk.length} same=${Number(draw(a) === draw(b))}`);
});"#,
    );
    (count(&line, "chars="), count(&line, "same=") == 1)
}

/// The number after `key` in a probe's line.
fn count(line: &str, key: &str) -> usize {
    line.split(key)
        .nth(1)
        .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no {key} in {line}"))
}

/// Runs `script` in a copy of `page` in headless Chromium; the script calls
/// `report(text)`, which writes `text` into the DOM that `--dump-dom`
/// prints, and this returns it.
fn browser_probe(browser: &Path, page: &Path, script: &str) -> String {
    let html = std::fs::read_to_string(page).expect("read page");
    let probe = format!(
        "<script>const report = text => {{ const out = document.createElement('pre'); out.id = 'browser-check'; out.textContent = text; document.body.appendChild(out); }};\n{script}</script>"
    );
    let checked = page.with_file_name(".browser-check.html");
    std::fs::write(
        &checked,
        html.replace("</body>", &format!("{probe}\n</body>")),
    )
    .expect("write probe page");
    let profile = tempfile::tempdir().expect("profile dir");
    let output = std::process::Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--virtual-time-budget=10000",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!(
            "file://{}",
            checked.canonicalize().expect("absolute path").display()
        ))
        .output()
        .expect("start chromium");
    std::fs::remove_file(&checked).ok();
    let dom = String::from_utf8_lossy(&output.stdout);
    dom.lines()
        .find_map(|l| l.split("<pre id=\"browser-check\">").nth(1))
        .map(|l| l.split('<').next().unwrap_or(l).to_owned())
        .unwrap_or_else(|| {
            panic!(
                "the page did not finish loading in Chromium: {}",
                String::from_utf8_lossy(&output.stderr)
            )
        })
}

/// The text a reader sees on an HTML page: no styles, scripts or tags,
/// entities decoded, runs of white space as one space.
pub fn visible_text(html: &str) -> String {
    let mut text = String::new();
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        text.push_str(&rest[..open]);
        text.push(' ');
        let tag = &rest[open..];
        let end = ["style", "script"]
            .iter()
            .find(|name| tag.starts_with(&format!("<{name}")))
            .map_or(">".to_owned(), |name| format!("</{name}>"));
        rest = tag.find(&end).map_or("", |at| &tag[at + end.len()..]);
    }
    text.push_str(rest);
    let text = text
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Words a reader of the page's language should not see: snake_case
/// identifiers on either page and, on a Chinese page, any Latin word but
/// those of the registry's Chinese names (哈弗H6), a station id, or the
/// abbreviations and method names Chinese readers use as they are.
pub fn words_out_of_place(text: &str, chinese: bool) -> Vec<String> {
    const AS_THEY_ARE: [&str; 9] = [
        "aftersight",
        "UTC",
        "CSI",
        "NPS",
        "B10",
        "pt",
        "p",
        "delta",
        "Benjamini-Hochberg",
    ];
    let latin_words = |text: &str| -> Vec<String> {
        text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
            .map(|w| w.trim_matches('-'))
            .filter(|w| w.starts_with(|c: char| c.is_ascii_alphabetic()))
            .map(str::to_owned)
            .collect()
    };
    let registry = std::fs::read_to_string(repo_root().join("src/terms/terms.csv")).unwrap();
    let chinese_names: std::collections::HashSet<String> = registry
        .lines()
        .filter_map(|l| l.split(',').nth(3))
        .flat_map(latin_words)
        .collect();
    let mut out: Vec<String> = latin_words(text)
        .into_iter()
        .filter(|w| {
            let snake = w.contains('_');
            let station =
                w.len() == 8 && w.starts_with("ST") && w[2..].bytes().all(|b| b.is_ascii_digit());
            snake
                || (chinese
                    && !station
                    && !AS_THEY_ARE.contains(&w.as_str())
                    && !chinese_names.contains(w))
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// A date as days since the epoch.
pub fn day(date: &str) -> Option<i32> {
    aftersight::dates::parse_date(date)
}

/// Query results as text, one `Vec` per row (a NULL reads as "").
pub fn rows(batches: &[RecordBatch]) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for b in batches {
        let cols: Vec<_> = b
            .columns()
            .iter()
            .map(|c| cast(c, &DataType::Utf8).unwrap())
            .collect();
        for r in 0..b.num_rows() {
            out.push(
                cols.iter()
                    .map(|c| c.as_string::<i32>().value(r).to_owned())
                    .collect(),
            );
        }
    }
    out
}

/// Compares cells: numbers within 1e-9, text exactly.
pub fn assert_rows(name: &str, got: &[Vec<String>], expected: &[&[&str]]) {
    assert_eq!(got.len(), expected.len(), "{name}: {got:?}");
    for (g, e) in got.iter().zip(expected) {
        assert_eq!(g.len(), e.len(), "{name}: {g:?}");
        for (a, b) in g.iter().zip(e.iter()) {
            match (a.parse::<f64>(), b.parse::<f64>()) {
                (Ok(x), Ok(y)) => assert!((x - y).abs() < 1e-9, "{name}: {a} != {b} in {g:?}"),
                _ => assert_eq!(a, b, "{name}: {g:?}"),
            }
        }
    }
}

/// The repository root, where `queries/` and `datasets/sample/` are.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs the `aftersight` binary in `dir` with `envs` set. The test's own
/// `AFTERSIGHT_*` variables are not passed on, so a developer's settings
/// never change what a test sees.
pub fn aftersight(dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> std::process::Output {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_aftersight"));
    command.args(args).current_dir(dir);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("AFTERSIGHT_") {
            command.env_remove(name);
        }
    }
    command.envs(envs.iter().copied());
    command.output().expect("run aftersight")
}

/// Copies the folder `from` to `to`, recursively.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}
