//! `aftersight generate`: a seeded synthetic dealer-management-system export
//! with planted ground truth.
//!
//! # How it works
//! 1. [`population`] draws stations, customers (each with a latent segment)
//!    and a plan per vehicle (make, model, registration, owners over time).
//! 2. [`simulate`] turns a vehicle plan into its history: sales, maintenance,
//!    failures from the Weibull laws in [`catalog`], accidents, a recall,
//!    comebacks, warranty claims and surveys.
//! 3. A first pass over all vehicles collects each customer's history before
//!    the churn cutoff; from it every customer gets a true defection
//!    probability and a seeded draw. A defected customer makes no visit after
//!    the cutoff.
//! 4. A second pass simulates the same vehicles again (same streams, same
//!    events) and writes the export, dropping the visits of defected
//!    customers after the cutoff; [`export`] plants dirt when asked.
//! 5. `truth.json` records the laws, the emerging issue, the recall, each
//!    customer's segment and churn probability, and every faulty row. The
//!    directory is staged and then renamed into place.
//!
//! Memory is bounded by the population (a few dozen bytes per vehicle and
//! customer); events stream straight to the files.

pub mod catalog;
pub mod export;
pub(crate) mod population;
pub(crate) mod simulate;

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use self::catalog::{CHAIN_BRANDS, CITIES, FAILURE_LAWS, FailureLaw, GIVEN, MAKES, SURNAMES};
use self::export::{DirtyRow, ExportFormat, ExportWriter, FreshKeys, Value};
use self::population::{CHANNELS, Population, SEGMENTS, Segment, StationKind};
pub use self::simulate::EmergingIssue;
use self::simulate::{History, RECALL, RecallCampaign, World};
use crate::dates::{days_from_civil, format_date};
use crate::fsutil;
use crate::schema::Table;

/// Earliest first-registration date of a generated vehicle.
pub const FIRST_REGISTRATION: i32 = days_from_civil(2016, 1, 1);
/// Latest first-registration date.
pub const LAST_REGISTRATION: i32 = days_from_civil(2026, 6, 30);
/// Last day covered by the export ("data valid through").
pub const DATA_END: i32 = days_from_civil(2026, 10, 31);
/// Churn cutoff: defection is planted for the 12 months after this day.
pub const CHURN_CUTOFF: i32 = days_from_civil(2025, 10, 31);
/// Vehicles at scale 1.
pub const VEHICLES_PER_SCALE: f64 = 100_000.0;
/// Stations at scale 1.
pub const STATIONS_PER_SCALE: f64 = 400.0;
/// Largest supported scale (VIN serials stay unique up to 8 million vehicles).
pub const MAX_SCALE: f64 = 80.0;

/// Name of the ground-truth file in an export directory.
pub const TRUTH_FILE: &str = "truth.json";

/// What to generate.
#[derive(Debug, Clone)]
pub struct GenerateConfig {
    /// Size: 1.0 is about 100,000 vehicles and 1,000,000 repair orders.
    pub scale: f64,
    /// Seed of every random choice.
    pub seed: u64,
    /// Export format.
    pub format: ExportFormat,
    /// Fraction of rows followed by a planted faulty row (0 for a clean export).
    pub dirt: f64,
    /// Output directory; replaced atomically if it holds an earlier export.
    pub out: PathBuf,
    /// Show progress bars.
    pub progress: bool,
    /// The emerging issue to plant ([`EmergingIssue::PLANTED`] by default; `None` plants none).
    pub emerging: Option<EmergingIssue>,
}

/// Errors of the generator.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    /// A parameter is out of range.
    #[error("invalid parameter `{name}`: {reason}")]
    InvalidParameter {
        /// Parameter name.
        name: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// Writing the export failed.
    #[error("cannot write the export to `{path}`")]
    Io {
        /// The path involved.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// Publishing the output directory failed.
    #[error(transparent)]
    Publish(#[from] fsutil::PublishError),
}

/// Rows and bytes written for one table.
#[derive(Debug, Clone, Serialize)]
pub struct FileSummary {
    /// Table name.
    pub table: &'static str,
    /// File name in the export directory.
    pub file: String,
    /// Data rows (lines without the header), faulty rows included.
    pub rows: u64,
    /// Planted faulty rows among them.
    pub faulty_rows: u64,
    /// File size in bytes.
    pub bytes: u64,
}

/// What a generation run produced; also the export's `manifest.json`.
#[derive(Debug, Clone, Serialize)]
pub struct ExportManifest {
    /// Marks the directory as an aftersight raw export.
    pub kind: &'static str,
    /// aftersight version that wrote it.
    pub generator_version: &'static str,
    /// Seed.
    pub seed: u64,
    /// Scale.
    pub scale: f64,
    /// Format.
    pub format: ExportFormat,
    /// Dirt rate.
    pub dirt_rate: f64,
    /// Last day covered by the data.
    pub data_valid_through: String,
    /// One entry per table.
    pub files: Vec<FileSummary>,
    /// Ground-truth file name.
    pub truth: &'static str,
    /// Wall time of the run, seconds.
    pub elapsed_seconds: f64,
}

/// The value of [`ExportManifest::kind`].
pub const EXPORT_KIND: &str = "aftersight-raw-export";

/// Mixes a seed, a stream number and an index into an independent seed (SplitMix64).
pub fn stream_seed(seed: u64, stream: u64, index: u64) -> u64 {
    let mut z = seed
        .wrapping_add(stream.wrapping_mul(0xD1B5_4A32_D192_ED03))
        .wrapping_add(index.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Generates an export as configured and publishes it atomically.
pub fn generate(config: &GenerateConfig) -> Result<ExportManifest, GenerateError> {
    validate(config)?;
    let started = Instant::now();
    let staging = fsutil::Staging::new(&config.out)?;
    let io_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| GenerateError::Io { path, source }
    };

    let vehicle_count = ((config.scale * VEHICLES_PER_SCALE).round() as usize).max(1);
    let station_count = ((config.scale * STATIONS_PER_SCALE).round() as usize).max(24);
    let mut rng = ChaCha8Rng::seed_from_u64(stream_seed(config.seed, 0, 0));
    let pop = Population::draw(&mut rng, vehicle_count, station_count);
    let world = World::new(&pop, config.seed, config.emerging);

    let churn = plant_churn(&world, config);
    let mut writers = Writers::create(staging.path(), config).map_err(io_err(staging.path()))?;
    let bar = fsutil::progress_bar(config.progress, vehicle_count as u64, "writing vehicles");
    for serial in 0..vehicle_count {
        let history = world.simulate(serial);
        writers
            .write_vehicle(&world, serial, &history, &churn.defected)
            .map_err(io_err(staging.path()))?;
        bar.inc(1);
    }
    bar.finish_and_clear();
    writers
        .write_customers(&world, config.seed)
        .map_err(io_err(staging.path()))?;
    writers
        .write_stations(&world)
        .map_err(io_err(staging.path()))?;
    let (files, dirt) = writers
        .finish(staging.path())
        .map_err(io_err(staging.path()))?;

    let customers = pop
        .customers
        .iter()
        .enumerate()
        .map(|(i, c)| CustomerTruth {
            customer_id: customer_id(i as u32),
            segment: SEGMENTS[c.segment as usize].name,
            p_defect: (churn.probability[i] * 1e6).round() / 1e6,
            defected: churn.defected[i],
        })
        .collect();
    let mut by_kind: BTreeMap<String, u64> = BTreeMap::new();
    for d in &dirt {
        *by_kind
            .entry(
                serde_json::to_value(d.kind)
                    .expect("enum serialises")
                    .as_str()
                    .unwrap_or("")
                    .to_owned(),
            )
            .or_default() += 1;
    }
    let truth = Truth {
        generator: "aftersight",
        generator_version: env!("CARGO_PKG_VERSION"),
        seed: config.seed,
        scale: config.scale,
        data_valid_through: format_date(DATA_END),
        failure_clock: "Failures are drawn per vehicle and component from the law in force; the clock starts at first registration (months in service, or km on the odometer) and restarts when the part is repaired (renewal). Failures whose owner has defected are repaired outside the network and not seen.",
        failure_laws: FAILURE_LAWS,
        emerging_issue: config.emerging,
        recall: RECALL,
        segments: SEGMENTS,
        churn: ChurnTruth {
            cutoff: format_date(CHURN_CUTOFF),
            horizon_months: 12,
            definition: "A defected customer makes no visit (repair order) at any station of the network after the cutoff. p_defect is the true probability; defected is the seeded draw. Customers can also make no visit without defecting (no vehicle, nothing due).",
            window_days: CHURN_WINDOW_DAYS,
            intercept: CHURN_INTERCEPT,
            drivers: CHURN_DRIVERS,
            inactive_logit: CHURN_INACTIVE_LOGIT,
        },
        customers,
        dirt: DirtTruth {
            rate: config.dirt,
            count: dirt.len() as u64,
            by_kind,
            rows: dirt,
        },
    };
    write_json(&staging.path().join(TRUTH_FILE), &truth).map_err(io_err(staging.path()))?;

    let manifest = ExportManifest {
        kind: EXPORT_KIND,
        generator_version: env!("CARGO_PKG_VERSION"),
        seed: config.seed,
        scale: config.scale,
        format: config.format,
        dirt_rate: config.dirt,
        data_valid_through: format_date(DATA_END),
        files,
        truth: TRUTH_FILE,
        elapsed_seconds: 0.0,
    };
    // The manifest itself carries no timing, so equal seeds give byte-identical directories.
    write_json(&staging.path().join(fsutil::MANIFEST_FILE), &manifest)
        .map_err(io_err(staging.path()))?;
    staging.publish(EXPORT_KIND)?;
    Ok(ExportManifest {
        elapsed_seconds: started.elapsed().as_secs_f64(),
        ..manifest
    })
}

fn validate(config: &GenerateConfig) -> Result<(), GenerateError> {
    if !(config.scale > 0.0 && config.scale <= MAX_SCALE) {
        return Err(GenerateError::InvalidParameter {
            name: "scale",
            reason: format!(
                "expected a number above 0 and at most {MAX_SCALE}, got {}",
                config.scale
            ),
        });
    }
    if let Some(issue) = &config.emerging
        && !(issue.extra_failures_per_vehicle_month > 0.0
            && issue.extra_failures_per_vehicle_month.is_finite())
    {
        return Err(GenerateError::InvalidParameter {
            name: "emerging-strength",
            reason: "expected a positive number".into(),
        });
    }
    if !(0.0..=0.5).contains(&config.dirt) {
        return Err(GenerateError::InvalidParameter {
            name: "dirt",
            reason: format!("expected a fraction from 0 to 0.5, got {}", config.dirt),
        });
    }
    Ok(())
}

fn write_json(path: &Path, value: &impl Serialize) -> io::Result<()> {
    let mut out = io::BufWriter::new(fs::File::create(path)?);
    serde_json::to_writer_pretty(&mut out, value)?;
    out.write_all(b"\n")?;
    out.flush()?;
    out.get_ref().sync_all()
}

// ---------------------------------------------------------------------------
// Churn

/// History window before the cutoff that the churn drivers look at.
const CHURN_WINDOW_DAYS: i32 = 730;
const CHURN_INTERCEPT: f64 = -3.4;
const CHURN_INACTIVE_LOGIT: f64 = 0.4;

/// One driver of the planted churn model.
#[derive(Debug, Clone, Serialize)]
pub struct ChurnDriver {
    /// Feature name.
    pub name: &'static str,
    /// Coefficient on the logit scale.
    pub coefficient: f64,
    /// How the feature is computed from the customer's visits in the window before the cutoff.
    pub definition: &'static str,
}

/// The planted churn drivers.
pub const CHURN_DRIVERS: &[ChurnDriver] = &[
    ChurnDriver {
        name: "comebacks",
        coefficient: 2.0,
        definition: "visits that repeat a repair of the same vehicle and component within 30 days",
    },
    ChurnDriver {
        name: "long_turnaround_share",
        coefficient: 5.0,
        definition: "share of visits with a long turnaround (maintenance or recall over 6 h; repairs over twice the usual time for the job)",
    },
    ChurnDriver {
        name: "csi_shortfall",
        coefficient: 1.2,
        definition: "max(0, 8 - mean CSI factor score) over answered surveys; 0 without surveys",
    },
    ChurnDriver {
        name: "price_index",
        coefficient: 3.0,
        definition: "mean labour rate of the stations visited / 150 CNY per hour, minus 1",
    },
    ChurnDriver {
        name: "online_channel",
        coefficient: 1.5,
        definition: "1 if the preferred channel is online",
    },
    ChurnDriver {
        name: "visits_capped",
        coefficient: -0.12,
        definition: "number of visits, capped at 8",
    },
];

#[derive(Default, Clone)]
struct CustomerWindow {
    visits: u32,
    comebacks: u32,
    long: u32,
    csi_sum: f64,
    csi_n: u32,
    rate_sum: f64,
}

struct Churn {
    probability: Vec<f64>,
    defected: Vec<bool>,
}

/// First pass: every customer's window before the cutoff, then the planted probability and the draw.
fn plant_churn(world: &World<'_>, config: &GenerateConfig) -> Churn {
    let pop = world.pop;
    let mut windows = vec![CustomerWindow::default(); pop.customers.len()];
    let from = CHURN_CUTOFF - CHURN_WINDOW_DAYS;
    let bar = fsutil::progress_bar(config.progress, pop.vehicles.len() as u64, "planting churn");
    for serial in 0..pop.vehicles.len() {
        for v in world.simulate(serial).visits {
            let day = v.day();
            if day <= from || day > CHURN_CUTOFF {
                continue;
            }
            let w = &mut windows[v.customer as usize];
            w.visits += 1;
            w.comebacks += u32::from(v.comeback);
            w.long += u32::from(v.long_turnaround);
            w.rate_sum += pop.stations[v.station as usize].labour_rate;
            if let Some(s) = &v.survey
                && s.day <= CHURN_CUTOFF
            {
                w.csi_sum += s.factors.iter().map(|&f| f64::from(f)).sum::<f64>() / 5.0;
                w.csi_n += 1;
            }
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    let mut probability = Vec::with_capacity(windows.len());
    let mut defected = Vec::with_capacity(windows.len());
    for (i, w) in windows.iter().enumerate() {
        let logit = if w.visits == 0 {
            CHURN_INACTIVE_LOGIT
        } else {
            let n = f64::from(w.visits);
            let features = [
                f64::from(w.comebacks),
                f64::from(w.long) / n,
                if w.csi_n > 0 {
                    (8.0 - w.csi_sum / f64::from(w.csi_n)).max(0.0)
                } else {
                    0.0
                },
                w.rate_sum / n / 150.0 - 1.0,
                f64::from(u8::from(
                    CHANNELS[pop.customers[i].channel as usize] == "online",
                )),
                n.min(8.0),
            ];
            CHURN_INTERCEPT
                + features
                    .iter()
                    .zip(CHURN_DRIVERS)
                    .map(|(x, d)| x * d.coefficient)
                    .sum::<f64>()
        };
        let p = 1.0 / (1.0 + (-logit).exp());
        let mut rng = ChaCha8Rng::seed_from_u64(stream_seed(config.seed, 2, i as u64));
        probability.push(p);
        defected.push(rng.random_bool(p));
    }
    Churn {
        probability,
        defected,
    }
}

// ---------------------------------------------------------------------------
// Truth

#[derive(Serialize)]
struct Truth {
    generator: &'static str,
    generator_version: &'static str,
    seed: u64,
    scale: f64,
    data_valid_through: String,
    failure_clock: &'static str,
    failure_laws: &'static [FailureLaw],
    emerging_issue: Option<EmergingIssue>,
    recall: RecallCampaign,
    segments: &'static [Segment],
    churn: ChurnTruth,
    customers: Vec<CustomerTruth>,
    dirt: DirtTruth,
}

#[derive(Serialize)]
struct ChurnTruth {
    cutoff: String,
    horizon_months: u32,
    definition: &'static str,
    window_days: i32,
    intercept: f64,
    drivers: &'static [ChurnDriver],
    inactive_logit: f64,
}

#[derive(Serialize)]
struct CustomerTruth {
    customer_id: String,
    segment: &'static str,
    p_defect: f64,
    defected: bool,
}

#[derive(Serialize)]
struct DirtTruth {
    rate: f64,
    count: u64,
    by_kind: BTreeMap<String, u64>,
    rows: Vec<DirtyRow>,
}

// ---------------------------------------------------------------------------
// Rows

fn station_id(i: u32) -> String {
    format!("ST{:06}", i + 1)
}
fn customer_id(i: u32) -> String {
    format!("C{:08}", i + 1)
}

/// Keys for faulty rows, from ranges clean data never reaches.
#[derive(Default)]
struct DirtKeys {
    next: [u64; 7],
    unknown_vins: u32,
    unknown_customers: u64,
}

impl FreshKeys for DirtKeys {
    fn fresh_key(&mut self, table: Table) -> String {
        let n = &mut self.next[table as usize];
        *n += 1;
        match table {
            Table::Stations => format!("ST{:06}", 900_000 + *n),
            Table::Customers => format!("C{:08}", 90_000_000 + *n),
            Table::Vehicles => crate::vin::build("LFV", "ZZ9Z9", 2020, b'Y', *n as u32),
            Table::Transactions => format!("T{:09}", 900_000_000 + *n),
            Table::RepairOrders => format!("RO{:010}", 9_000_000_000 + *n),
            Table::WarrantyClaims => format!("WC{:09}", 900_000_000 + *n),
            Table::Surveys => format!("S{:09}", 900_000_000 + *n),
        }
    }

    fn unknown_vin(&mut self) -> String {
        self.unknown_vins += 1;
        crate::vin::build("LSV", "ZZ8Z8", 2021, b'Z', self.unknown_vins)
    }

    fn unknown_customer(&mut self) -> String {
        self.unknown_customers += 1;
        format!("C{:08}", 99_000_000 + self.unknown_customers)
    }
}

struct Writers {
    stations: ExportWriter,
    customers: ExportWriter,
    vehicles: ExportWriter,
    transactions: ExportWriter,
    repair_orders: ExportWriter,
    claims: ExportWriter,
    surveys: ExportWriter,
    keys: DirtKeys,
    next_transaction: u64,
    next_ro: u64,
    next_claim: u64,
    next_survey: u64,
}

impl Writers {
    fn create(dir: &Path, config: &GenerateConfig) -> io::Result<Writers> {
        let open = |t: Table| {
            ExportWriter::create(
                dir,
                t,
                config.format,
                config.dirt,
                stream_seed(config.seed, 10, t as u64),
            )
        };
        Ok(Writers {
            stations: open(Table::Stations)?,
            customers: open(Table::Customers)?,
            vehicles: open(Table::Vehicles)?,
            transactions: open(Table::Transactions)?,
            repair_orders: open(Table::RepairOrders)?,
            claims: open(Table::WarrantyClaims)?,
            surveys: open(Table::Surveys)?,
            keys: DirtKeys::default(),
            next_transaction: 0,
            next_ro: 0,
            next_claim: 0,
            next_survey: 0,
        })
    }

    fn write_vehicle(
        &mut self,
        world: &World<'_>,
        serial: usize,
        h: &History,
        defected: &[bool],
    ) -> io::Result<()> {
        let plan = &world.pop.vehicles[serial];
        let make = &MAKES[plan.make as usize];
        let vin = Value::Text(plan.vin.clone());
        self.vehicles.write(
            &[
                vin.clone(),
                Value::Text(make.name.into()),
                Value::Text(make.models[plan.model as usize].name.into()),
                Value::Int(plan.model_year.into()),
                Value::Text(plan.powertrain.code().into()),
                Value::Date(plan.registered),
                Value::Text(customer_id(plan.owners[0].customer)),
            ],
            &mut self.keys,
        )?;
        for sale in &h.sales {
            let owner = &plan.owners[sale.owner];
            let terms = owner
                .sale
                .as_ref()
                .expect("sales come from owners with sale terms");
            self.next_transaction += 1;
            self.transactions.write(
                &[
                    Value::Text(format!("T{:09}", self.next_transaction)),
                    vin.clone(),
                    Value::Text(station_id(terms.station)),
                    Value::Text(customer_id(owner.customer)),
                    Value::Date(owner.start),
                    Value::Int(sale.odometer),
                    Value::Decimal(sale.price),
                    Value::Text(terms.channel.into()),
                    Value::Bool(terms.financed),
                    Value::Bool(terms.certified),
                    Value::Int(terms.extended_months.into()),
                ],
                &mut self.keys,
            )?;
        }
        for v in &h.visits {
            if v.day() > CHURN_CUTOFF && defected[v.customer as usize] {
                continue;
            }
            self.next_ro += 1;
            let ro_id = format!("RO{:010}", self.next_ro);
            self.repair_orders.write(
                &[
                    Value::Text(ro_id.clone()),
                    vin.clone(),
                    Value::Text(customer_id(v.customer)),
                    Value::Text(station_id(v.station)),
                    Value::Timestamp(v.opened),
                    Value::Timestamp(v.closed),
                    Value::Int(v.odometer),
                    Value::Text(v.job.code().into()),
                    Value::Text(v.component.into()),
                    v.complaint
                        .map_or(Value::Null, |(p, n)| Value::Text(format!("{p}-{n:02}"))),
                    Value::Decimal(v.labour_hours),
                    Value::Decimal(v.labour_cny),
                    Value::Decimal(v.parts_cny),
                ],
                &mut self.keys,
            )?;
            if let Some(c) = &v.claim {
                self.next_claim += 1;
                self.claims.write(
                    &[
                        Value::Text(format!("WC{:09}", self.next_claim)),
                        Value::Text(ro_id.clone()),
                        vin.clone(),
                        Value::Text(v.component.into()),
                        Value::Date(c.failure_day),
                        Value::Int(v.odometer),
                        Value::Decimal(((v.labour_cny + v.parts_cny) * 100.0).round() / 100.0),
                        Value::Text(c.status.into()),
                        Value::Text(c.coverage.into()),
                    ],
                    &mut self.keys,
                )?;
            }
            if let Some(s) = &v.survey {
                self.next_survey += 1;
                let mut row = vec![
                    Value::Text(format!("S{:09}", self.next_survey)),
                    Value::Text(ro_id),
                    Value::Date(s.day),
                ];
                row.extend(s.factors.iter().map(|&f| Value::Int(f.into())));
                row.push(Value::Int(s.recommend.into()));
                self.surveys.write(&row, &mut self.keys)?;
            }
        }
        Ok(())
    }

    fn write_customers(&mut self, world: &World<'_>, seed: u64) -> io::Result<()> {
        for (i, c) in world.pop.customers.iter().enumerate() {
            let mut rng = ChaCha8Rng::seed_from_u64(stream_seed(seed, 3, i as u64));
            let mut name = SURNAMES[rng.random_range(0..SURNAMES.len())].to_owned();
            name.push_str(GIVEN[rng.random_range(0..GIVEN.len())]);
            if rng.random_bool(0.3) {
                name.push_str(GIVEN[rng.random_range(0..GIVEN.len())]);
            }
            let city = &CITIES[c.city as usize];
            self.customers.write(
                &[
                    Value::Text(customer_id(i as u32)),
                    Value::Text(name),
                    Value::Text(city.name.into()),
                    Value::Text(city.province.into()),
                    Value::Text(CHANNELS[c.channel as usize].into()),
                    Value::Date(c.first_seen),
                ],
                &mut self.keys,
            )?;
        }
        Ok(())
    }

    fn write_stations(&mut self, world: &World<'_>) -> io::Result<()> {
        for (i, s) in world.pop.stations.iter().enumerate() {
            let city = &CITIES[s.city as usize];
            let district = city.districts[s.district as usize];
            let pick = s.name_pick as usize;
            let name = match s.kind {
                StationKind::Dealer4s => {
                    let brand = MAKES[s.brand.expect("dealers have a brand") as usize].name_zh;
                    if pick % 3 == 0 {
                        format!("{}{}{}汽车销售服务有限公司", city.name, district, brand)
                    } else {
                        format!("{}{}{}4S店", city.name, district, brand)
                    }
                }
                StationKind::Chain => {
                    let chain = CHAIN_BRANDS[pick % CHAIN_BRANDS.len()];
                    if pick % 3 == 0 {
                        format!("{chain}({district}店, {})", city.name)
                    } else {
                        format!("{chain}({}{district}店)", city.name)
                    }
                }
                StationKind::Independent => {
                    let surname = SURNAMES[pick % SURNAMES.len()];
                    if pick % 2 == 0 {
                        format!("{surname}师傅汽修")
                    } else {
                        format!("{district}{surname}记汽车修理厂")
                    }
                }
            };
            self.stations.write(
                &[
                    Value::Text(station_id(i as u32)),
                    Value::Text(name),
                    Value::Text(s.kind.code().into()),
                    s.brand
                        .map_or(Value::Null, |b| Value::Text(MAKES[b as usize].name.into())),
                    Value::Text(s.grade.into()),
                    Value::Text(city.name.into()),
                    Value::Text(city.province.into()),
                    Value::Int(s.bays.into()),
                    Value::Date(s.opened),
                ],
                &mut self.keys,
            )?;
        }
        Ok(())
    }

    fn finish(self, dir: &Path) -> io::Result<(Vec<FileSummary>, Vec<DirtyRow>)> {
        let mut files = Vec::new();
        let mut dirt = Vec::new();
        for (table, w) in [
            (Table::Stations, self.stations),
            (Table::Customers, self.customers),
            (Table::Vehicles, self.vehicles),
            (Table::Transactions, self.transactions),
            (Table::RepairOrders, self.repair_orders),
            (Table::WarrantyClaims, self.claims),
            (Table::Surveys, self.surveys),
        ] {
            let (file, rows, table_dirt) = w.finish()?;
            let bytes = fs::metadata(dir.join(&file))?.len();
            files.push(FileSummary {
                table: table.name(),
                file,
                rows,
                faulty_rows: table_dirt.len() as u64,
                bytes,
            });
            dirt.extend(table_dirt);
        }
        Ok((files, dirt))
    }
}
