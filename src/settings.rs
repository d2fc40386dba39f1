//! The settings every command resolves once, in one order: the command line,
//! then `AFTERSIGHT_*` environment variables, then `aftersight.toml`, then
//! the defaults.
//!
//! The settings file is `--config PATH`, else `$AFTERSIGHT_CONFIG`, else
//! `./aftersight.toml` when it exists. A value that is malformed names its
//! key and the layer it came from (`engine.threads: 0 is not between 1 and
//! 256 (from AFTERSIGHT_THREADS)`).

use std::path::{Path, PathBuf};

use crate::charts::Lang;
use crate::config::{self, ConfigError, ConfigFile};
use crate::pipeline::{DEFAULT_SEED, RunConfig};
use crate::sql::{Engine, EngineKind, SchedulerUrl, SessionSettings};

/// The output root when none is configured.
pub const DEFAULT_OUT: &str = "aftersight-out";

/// The query library folder used when it exists in the working directory.
pub const LOCAL_QUERIES: &str = "queries";

/// What the command line gave; `None` falls through to the next layer.
#[derive(Debug, Clone, Default)]
pub struct Flags {
    /// `--config`.
    pub config: Option<PathBuf>,
    /// Output root.
    pub out: Option<PathBuf>,
    /// Warehouse.
    pub warehouse: Option<PathBuf>,
    /// Raw export.
    pub raw: Option<PathBuf>,
    /// Query library.
    pub queries: Option<PathBuf>,
    /// As-of date, `YYYY-MM-DD`.
    pub as_of: Option<String>,
    /// Model seed.
    pub seed: Option<u64>,
    /// Query partitions.
    pub threads: Option<usize>,
    /// DataFusion memory limit, e.g. `4GiB`.
    pub memory_limit: Option<String>,
    /// Header row of the CSVs: `keys`, `en` or `zh`.
    pub csv_headers: Option<String>,
    /// Engine kind: `local`, `ballista` or `standalone`.
    pub engine: Option<String>,
    /// Ballista scheduler URL, `df://HOST:PORT`.
    pub engine_url: Option<String>,
}

/// Every setting, resolved.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The settings file that was read, if any.
    pub config_file: Option<PathBuf>,
    /// Output root.
    pub out: PathBuf,
    /// The Parquet warehouse (`OUT/warehouse` unless configured).
    pub warehouse: PathBuf,
    /// Raw export to start `run` from; `None` is the bundled sample.
    pub raw: Option<PathBuf>,
    /// Query library; `None` is the copy built into the binary.
    pub queries: Option<PathBuf>,
    /// See the data as of the end of this day (days since the epoch).
    pub as_of: Option<i32>,
    /// Seed of every random choice in the models.
    pub seed: u64,
    /// Reports `run` writes.
    pub reports: Vec<String>,
    /// Languages of the executive summary.
    pub languages: Vec<Lang>,
    /// Header row of the KPI, report and `sql --format csv` CSVs.
    pub csv_headers: crate::sql::output::CsvHeaders,
    /// DataFusion session settings (threads, memory limit, as-of date).
    pub session: SessionSettings,
}

impl Settings {
    /// Resolves the layers with the process's environment.
    pub fn resolve(flags: &Flags) -> Result<Settings, ConfigError> {
        Settings::resolve_with(flags, |name| std::env::var(name).ok())
    }

    /// Resolves the layers with `env` standing for the environment.
    pub fn resolve_with(
        flags: &Flags,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Settings, ConfigError> {
        let config_file = flags
            .config
            .clone()
            .or_else(|| env("AFTERSIGHT_CONFIG").map(PathBuf::from))
            .or_else(|| {
                Path::new(config::FILE_NAME)
                    .is_file()
                    .then(|| PathBuf::from(config::FILE_NAME))
            });
        let file = match &config_file {
            Some(path) => config::load(path)?,
            None => ConfigFile::default(),
        };
        let layers = Layers {
            flags,
            env: &env,
            file: &file,
        };
        let out = layers
            .path(|f| &f.out, "AFTERSIGHT_OUT", |c| &c.out)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_OUT));
        let warehouse = layers
            .path(|f| &f.warehouse, "AFTERSIGHT_WAREHOUSE", |c| &c.warehouse)
            .unwrap_or_else(|| out.join("warehouse"));
        let given_queries = layers.path(|f| &f.queries, "AFTERSIGHT_QUERIES", |c| &c.queries);
        let as_of = layers.as_of()?;
        let mut session = SessionSettings {
            as_of,
            ..SessionSettings::default()
        };
        if let Some(threads) = layers.threads()? {
            session.threads = threads;
        }
        if let Some(bytes) = layers.memory_limit()? {
            session.memory_limit = bytes;
        }
        session.engine = layers.engine()?;
        Ok(Settings {
            raw: layers.path(|f| &f.raw, "AFTERSIGHT_RAW", |c| &c.raw),
            queries: query_library(given_queries.as_deref()),
            seed: layers.seed()?.unwrap_or(DEFAULT_SEED),
            reports: file
                .reports
                .clone()
                .unwrap_or_else(|| vec!["monthly".into()]),
            languages: layers.languages()?,
            csv_headers: layers.csv_headers()?,
            config_file,
            out,
            warehouse,
            as_of,
            session,
        })
    }

    /// Where `predict` publishes and `sql` finds the predictions: `OUT/predictions`.
    pub fn predictions(&self) -> PathBuf {
        self.out.join("predictions")
    }

    /// The model store: `OUT/models`.
    pub fn models(&self) -> PathBuf {
        self.out.join("models")
    }

    /// The main job's configuration.
    pub fn run_config(&self) -> RunConfig {
        let mut run = RunConfig::new(self.out.clone());
        run.raw = self.raw.clone();
        run.warehouse = Some(self.warehouse.clone());
        run.queries = self.queries.clone();
        run.as_of = self.as_of;
        run.seed = self.seed;
        run.reports = self.reports.clone();
        run.languages = self.languages.clone();
        run.csv_headers = self.csv_headers;
        run.settings = self.session.clone();
        run
    }
}

/// The query library to use: the given folder, else `./queries` when it
/// exists, else `None` for the copy built into the binary.
pub fn query_library(given: Option<&Path>) -> Option<PathBuf> {
    given.map(Path::to_path_buf).or_else(|| {
        Path::new(LOCAL_QUERIES)
            .is_dir()
            .then(|| PathBuf::from(LOCAL_QUERIES))
    })
}

/// The three layers above the defaults, looked up a setting at a time.
struct Layers<'a, E: Fn(&str) -> Option<String>> {
    flags: &'a Flags,
    env: &'a E,
    file: &'a ConfigFile,
}

/// A raw value, its key in the file, and the layer it came from.
struct Sourced {
    text: String,
    key: &'static str,
    from: String,
}

impl Sourced {
    fn error(&self, message: impl std::fmt::Display) -> ConfigError {
        ConfigError::Value {
            setting: self.key.to_owned(),
            message: format!("{message} (from {})", self.from),
        }
    }
}

impl<E: Fn(&str) -> Option<String>> Layers<'_, E> {
    fn path(
        &self,
        flag: impl Fn(&Flags) -> &Option<PathBuf>,
        var: &str,
        file: impl Fn(&ConfigFile) -> &Option<PathBuf>,
    ) -> Option<PathBuf> {
        flag(self.flags)
            .clone()
            .or_else(|| (self.env)(var).filter(|v| !v.is_empty()).map(PathBuf::from))
            .or_else(|| file(self.file).clone())
    }

    /// The first layer's text for a setting, with its key and the layer's name.
    fn text(
        &self,
        flag: Option<String>,
        option: &str,
        var: &str,
        key: &'static str,
        file: Option<String>,
    ) -> Option<Sourced> {
        let (text, from) = flag
            .map(|v| (v, format!("--{option}")))
            .or_else(|| {
                (self.env)(var)
                    .filter(|v| !v.is_empty())
                    .map(|v| (v, var.to_owned()))
            })
            .or_else(|| file.map(|v| (v, config::FILE_NAME.to_owned())))?;
        Some(Sourced { text, key, from })
    }

    fn as_of(&self) -> Result<Option<i32>, ConfigError> {
        let Some(v) = self.text(
            self.flags.as_of.clone(),
            "as-of",
            "AFTERSIGHT_AS_OF",
            "as_of",
            self.file.as_of.clone(),
        ) else {
            return Ok(None);
        };
        crate::dates::parse_date(&v.text)
            .map(Some)
            .ok_or_else(|| v.error(format!("`{}` is not a date (YYYY-MM-DD)", v.text)))
    }

    fn csv_headers(&self) -> Result<crate::sql::output::CsvHeaders, ConfigError> {
        let sourced = self.text(
            self.flags.csv_headers.clone(),
            "csv-headers",
            "AFTERSIGHT_CSV_HEADERS",
            "csv_headers",
            self.file.csv_headers.clone(),
        );
        match sourced {
            None => Ok(Default::default()),
            Some(v) => crate::sql::output::CsvHeaders::parse(&v.text)
                .ok_or_else(|| v.error(format!("`{}` is not one of keys, en, zh", v.text))),
        }
    }

    fn seed(&self) -> Result<Option<u64>, ConfigError> {
        let sourced = self.text(
            self.flags.seed.map(|s| s.to_string()),
            "seed",
            "AFTERSIGHT_SEED",
            "seed",
            self.file.seed.map(|s| s.to_string()),
        );
        sourced
            .map(|v| {
                v.text
                    .parse()
                    .map_err(|_| v.error(format!("`{}` is not a whole number", v.text)))
            })
            .transpose()
    }

    fn threads(&self) -> Result<Option<usize>, ConfigError> {
        let engine = self.file.engine.clone().unwrap_or_default();
        let sourced = self.text(
            self.flags.threads.map(|t| t.to_string()),
            "threads",
            "AFTERSIGHT_THREADS",
            "engine.threads",
            engine.threads.map(|t| t.to_string()),
        );
        let Some(v) = sourced else {
            return Ok(None);
        };
        match v.text.parse::<usize>() {
            Ok(threads) if (1..=256).contains(&threads) => Ok(Some(threads)),
            Ok(threads) => Err(v.error(format!("{threads} is not between 1 and 256"))),
            Err(_) => Err(v.error(format!("`{}` is not a whole number", v.text))),
        }
    }

    fn memory_limit(&self) -> Result<Option<usize>, ConfigError> {
        let engine = self.file.engine.clone().unwrap_or_default();
        let sourced = self.text(
            self.flags.memory_limit.clone(),
            "memory-limit",
            "AFTERSIGHT_MEMORY_LIMIT",
            "engine.memory_limit",
            engine.memory_limit,
        );
        sourced
            .map(|v| config::parse_bytes(&v.text).map_err(|m| v.error(m)))
            .transpose()
    }

    /// The engine: its kind, and for Ballista the scheduler's URL. A URL with
    /// no kind in any layer means Ballista.
    fn engine(&self) -> Result<Engine, ConfigError> {
        let section = self.file.engine.clone().unwrap_or_default();
        let url = self
            .text(
                self.flags.engine_url.clone(),
                "engine-url",
                "AFTERSIGHT_ENGINE_URL",
                "engine.url",
                section.url,
            )
            .map(|v| v.text.parse::<SchedulerUrl>().map_err(|m| v.error(m)))
            .transpose()?;
        let kind = self
            .text(
                self.flags.engine.clone(),
                "engine",
                "AFTERSIGHT_ENGINE",
                "engine.kind",
                section.kind,
            )
            .map(|v| v.text.parse::<EngineKind>().map_err(|m| v.error(m)))
            .transpose()?;
        let kind = kind.unwrap_or(if url.is_some() {
            EngineKind::Ballista
        } else {
            EngineKind::Local
        });
        Ok(Engine::new(kind, url))
    }

    fn languages(&self) -> Result<Vec<Lang>, ConfigError> {
        match &self.file.languages {
            None => Ok(vec![Lang::En, Lang::Zh]),
            Some(languages) => languages
                .iter()
                .map(|l| {
                    l.parse::<Lang>().map_err(|e| ConfigError::Value {
                        setting: "languages".into(),
                        message: format!("{e} (from {})", config::FILE_NAME),
                    })
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
        std::io::Write::write_all(&mut f, text.as_bytes()).unwrap();
        f
    }

    fn flags(config: &Path) -> Flags {
        Flags {
            config: Some(config.to_path_buf()),
            ..Flags::default()
        }
    }

    #[test]
    fn the_command_line_beats_the_environment_which_beats_the_file() {
        let toml = file("out = \"from-file\"\nseed = 1\n[engine]\nthreads = 3\n");
        let none = |_: &str| None;
        let s = Settings::resolve_with(&flags(toml.path()), none).unwrap();
        assert_eq!(s.out, PathBuf::from("from-file"));
        assert_eq!(s.warehouse, PathBuf::from("from-file/warehouse"));
        assert_eq!((s.seed, s.session.threads), (1, 3));

        let env = |name: &str| match name {
            "AFTERSIGHT_OUT" => Some("from-env".to_owned()),
            "AFTERSIGHT_THREADS" => Some("5".to_owned()),
            _ => None,
        };
        let s = Settings::resolve_with(&flags(toml.path()), env).unwrap();
        assert_eq!(s.out, PathBuf::from("from-env"));
        assert_eq!(s.session.threads, 5);

        let mut given = flags(toml.path());
        given.out = Some("from-flag".into());
        given.threads = Some(7);
        let s = Settings::resolve_with(&given, env).unwrap();
        assert_eq!(s.out, PathBuf::from("from-flag"));
        assert_eq!(s.session.threads, 7);
    }

    #[test]
    fn the_engine_resolves_like_every_setting_and_a_url_alone_means_ballista() {
        let toml = file("[engine]\nkind = \"standalone\"\n");
        let s = Settings::resolve_with(&flags(toml.path()), |_| None).unwrap();
        assert_eq!(s.session.engine, Engine::Standalone);
        assert_eq!(
            Settings::resolve_with(&Flags::default(), |_| None)
                .unwrap()
                .session
                .engine,
            Engine::Local
        );
        let env = |name: &str| {
            (name == "AFTERSIGHT_ENGINE_URL").then(|| "df://10.1.2.3:50070".to_owned())
        };
        let s = Settings::resolve_with(&Flags::default(), env).unwrap();
        assert_eq!(
            s.session.engine,
            Engine::Ballista("df://10.1.2.3:50070".parse().unwrap())
        );
        let mut given = flags(toml.path());
        given.engine = Some("local".into());
        let s = Settings::resolve_with(&given, env).unwrap();
        assert_eq!(s.session.engine, Engine::Local);
        given.engine = Some("cluster".into());
        let err = Settings::resolve_with(&given, env).unwrap_err();
        assert_eq!(
            err.to_string(),
            "engine.kind: `cluster` is not one of local, ballista, standalone (from --engine)"
        );
        let toml = file("[engine]\nurl = \"http://h:1\"\n");
        let err = Settings::resolve_with(&flags(toml.path()), |_| None).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("engine.url: `http://h:1` is not a scheduler URL"),
            "{err}"
        );
    }

    #[test]
    fn a_bad_value_names_the_layer_it_came_from() {
        let toml = file("[engine]\nthreads = 0\n");
        let err = Settings::resolve_with(&flags(toml.path()), |_| None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "engine.threads: 0 is not between 1 and 256 (from aftersight.toml)"
        );
        let env = |name: &str| (name == "AFTERSIGHT_AS_OF").then(|| "2026-13-01".to_owned());
        let err = Settings::resolve_with(&Flags::default(), env).unwrap_err();
        assert_eq!(
            err.to_string(),
            "as_of: `2026-13-01` is not a date (YYYY-MM-DD) (from AFTERSIGHT_AS_OF)"
        );
        let given = Flags {
            memory_limit: Some("1MiB".into()),
            ..Flags::default()
        };
        let err = Settings::resolve_with(&given, |_| None).unwrap_err();
        assert!(
            err.to_string().starts_with("engine.memory_limit: "),
            "{err}"
        );
        assert!(err.to_string().ends_with("(from --memory-limit)"), "{err}");
    }

    #[test]
    fn the_as_of_date_reaches_the_session() {
        let given = Flags {
            as_of: Some("2026-06-30".into()),
            ..Flags::default()
        };
        let s = Settings::resolve_with(&given, |_| None).unwrap();
        assert_eq!(s.session.as_of, crate::dates::parse_date("2026-06-30"));
        assert_eq!(s.run_config().as_of, s.as_of);
    }
}
