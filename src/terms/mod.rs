//! Every domain word a reader sees, in English and Chinese, from one table
//! (`src/terms/terms.csv`: kind, key, English, Chinese): components, job
//! types, coverage types, channels, powertrains, station types and grades,
//! complaint codes, makes and models, and the churn drivers in words. Pages
//! and charts take their words from here; a test fails when a value that can
//! reach a page has no name in either language. The columns of report
//! tables have their own table ([`columns`]), with units and number formats.

pub mod columns;

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::charts::Lang;

/// What a key names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A component code (`brake_pads`).
    Component,
    /// A repair order's job type.
    JobType,
    /// A warranty claim's coverage.
    Coverage,
    /// A warranty claim's status.
    ClaimStatus,
    /// A customer's preferred channel.
    CustomerChannel,
    /// A used-car sale's channel.
    SaleChannel,
    /// A powertrain (`BEV`).
    Powertrain,
    /// A station's type.
    StationType,
    /// A station's grade.
    StationGrade,
    /// A complaint code's prefix (`BRK`).
    Complaint,
    /// A make.
    Make,
    /// A model.
    Model,
    /// A churn feature whose value is above the median, as a reason.
    ChurnDriverHigh,
    /// A churn feature whose value is below the median, as a reason.
    ChurnDriverLow,
}

impl Kind {
    /// Every kind, in the table's order.
    pub const ALL: [Kind; 14] = [
        Kind::Component,
        Kind::JobType,
        Kind::Coverage,
        Kind::ClaimStatus,
        Kind::CustomerChannel,
        Kind::SaleChannel,
        Kind::Powertrain,
        Kind::StationType,
        Kind::StationGrade,
        Kind::Complaint,
        Kind::Make,
        Kind::Model,
        Kind::ChurnDriverHigh,
        Kind::ChurnDriverLow,
    ];

    /// The name in the table's `kind` column.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Component => "component",
            Kind::JobType => "job_type",
            Kind::Coverage => "coverage",
            Kind::ClaimStatus => "claim_status",
            Kind::CustomerChannel => "customer_channel",
            Kind::SaleChannel => "sale_channel",
            Kind::Powertrain => "powertrain",
            Kind::StationType => "station_type",
            Kind::StationGrade => "station_grade",
            Kind::Complaint => "complaint",
            Kind::Make => "make",
            Kind::Model => "model",
            Kind::ChurnDriverHigh => "churn_driver_high",
            Kind::ChurnDriverLow => "churn_driver_low",
        }
    }
}

const TABLE: &str = include_str!("terms.csv");

type Words = HashMap<(Kind, &'static str), [&'static str; 2]>;

fn words() -> &'static Words {
    static WORDS: OnceLock<Words> = OnceLock::new();
    WORDS.get_or_init(|| {
        TABLE
            .lines()
            .skip(1)
            .filter(|line| !line.trim().is_empty())
            .map(|line| {
                let fields: Vec<&'static str> = line.split(',').collect();
                let kind = Kind::ALL
                    .into_iter()
                    .find(|k| k.name() == fields[0])
                    .expect("every kind in terms.csv is a Kind (tested)");
                ((kind, fields[1]), [fields[2], fields[3]])
            })
            .collect()
    })
}

/// The word for a key in a language, when the table has it.
pub fn word(kind: Kind, key: &str, lang: Lang) -> Option<&'static str> {
    words()
        .get(&(kind, key))
        .map(|w| w[usize::from(lang == Lang::Zh)])
}

/// The word for a key, or the key itself when the table lacks it (a user's own code).
pub fn word_or_key(kind: Kind, key: &str, lang: Lang) -> String {
    word(kind, key, lang).map_or_else(|| key.to_owned(), str::to_owned)
}

/// A cohort as people name it: "Haval H6 2022" / "哈弗H6 2022款".
pub fn cohort(make: &str, model: &str, model_year: i64, lang: Lang) -> String {
    let (make, model) = (
        word_or_key(Kind::Make, make, lang),
        word_or_key(Kind::Model, model, lang),
    );
    if lang == Lang::Zh {
        format!("{make}{model} {model_year}款")
    } else {
        format!("{make} {model} {model_year}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::catalog::{COMPONENTS, MAKES};
    use crate::schema::{ENUMS, Table};

    #[test]
    fn the_table_is_well_formed() {
        let mut seen = std::collections::HashSet::new();
        for (n, line) in TABLE.lines().enumerate().skip(1) {
            let fields: Vec<&str> = line.split(',').collect();
            assert_eq!(fields.len(), 4, "terms.csv line {}: {line}", n + 1);
            assert!(
                Kind::ALL.iter().any(|k| k.name() == fields[0]),
                "terms.csv line {}: unknown kind `{}`",
                n + 1,
                fields[0]
            );
            assert!(
                fields[2..].iter().all(|w| !w.trim().is_empty()),
                "line {}",
                n + 1
            );
            assert!(
                seen.insert((fields[0], fields[1])),
                "line {}: a second `{}`",
                n + 1,
                fields[1]
            );
        }
    }

    /// Every value the generator or the schema lets reach a page has a name in both languages.
    #[test]
    fn every_domain_value_has_both_names() {
        let mut expected: Vec<(Kind, String)> = Vec::new();
        for c in COMPONENTS {
            expected.push((Kind::Component, c.code.into()));
            expected.push((Kind::Complaint, c.complaint_prefix.into()));
        }
        // Maintenance, accident and recall work, outside the failure laws.
        for (component, prefix) in [
            ("routine_service", None),
            ("body_panel", Some("BOD")),
            ("fuel_pump", Some("RCL")),
        ] {
            expected.push((Kind::Component, component.into()));
            expected.extend(prefix.map(|p| (Kind::Complaint, p.into())));
        }
        for make in MAKES {
            expected.push((Kind::Make, make.name.into()));
            expected.extend(make.models.iter().map(|m| (Kind::Model, m.name.into())));
        }
        for (table, column, values) in ENUMS {
            let kind = match (table, *column) {
                (Table::Stations, "station_type") => Kind::StationType,
                (Table::Stations, "grade") => Kind::StationGrade,
                (Table::Customers, "preferred_channel") => Kind::CustomerChannel,
                (Table::Vehicles, "powertrain") => Kind::Powertrain,
                (Table::Transactions, "channel") => Kind::SaleChannel,
                (Table::RepairOrders, "job_type") => Kind::JobType,
                (Table::WarrantyClaims, "status") => Kind::ClaimStatus,
                (Table::WarrantyClaims, "coverage") => Kind::Coverage,
                other => panic!("enumerated column {other:?} has no kind of word"),
            };
            expected.extend(values.iter().map(|v| (kind, (*v).to_owned())));
        }
        let churn = include_str!("../../queries/features/churn.sql");
        let select = &churn[churn.rfind("SELECT").unwrap()..churn.rfind("FROM visits").unwrap()];
        for line in select.lines() {
            if let Some((_, alias)) = line.trim().trim_end_matches(',').rsplit_once(" AS ")
                && alias != "label"
            {
                expected.push((Kind::ChurnDriverHigh, alias.into()));
                expected.push((Kind::ChurnDriverLow, alias.into()));
            }
        }
        for (kind, key) in expected {
            for lang in [Lang::En, Lang::Zh] {
                assert!(
                    word(kind, &key, lang).is_some(),
                    "no {lang:?} word for {} `{key}`",
                    kind.name()
                );
            }
        }
    }

    #[test]
    fn cohorts_read_naturally_in_both_languages() {
        assert_eq!(cohort("Haval", "H6", 2022, Lang::En), "Haval H6 2022");
        assert_eq!(cohort("Haval", "H6", 2022, Lang::Zh), "哈弗H6 2022款");
        assert_eq!(cohort("Acme", "X", 2020, Lang::Zh), "AcmeX 2020款");
        assert_eq!(
            word_or_key(Kind::Component, "brake_pads", Lang::Zh),
            "刹车片"
        );
        assert_eq!(
            word_or_key(Kind::Component, "own_code", Lang::En),
            "own_code"
        );
    }
}
