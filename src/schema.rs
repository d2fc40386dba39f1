//! The domain model: every table aftersight knows, defined once.
//!
//! Each [`Table`] lists its [`Column`]s in export order, with type, unit and
//! meaning. Everything else derives from this module: the generator writes
//! columns in this order, `datasets/README.md` documents these columns (a test
//! keeps the two in step), and [`Table::arrow_schema`] gives the typed Arrow
//! schema used for the Parquet warehouse.
//!
//! Enumerated values (job types, grades, channels …) are listed here too, as
//! the one place validation and generation agree on.

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};

/// The logical type of a column, as exported and as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// UTF-8 text.
    Text,
    /// 32-bit signed integer.
    Int,
    /// 64-bit signed integer (odometers: summed over fleets, so 64-bit).
    BigInt,
    /// 64-bit float (labour hours).
    Float,
    /// Money in CNY with two decimals, stored exactly as a count of fen
    /// (`Decimal128(18, 2)`), so sums agree to the cent in every engine and
    /// whatever the order of the rows.
    Money,
    /// `true` / `false`.
    Bool,
    /// Calendar date, `YYYY-MM-DD`.
    Date,
    /// Local wall-clock timestamp without zone (station local time), `YYYY-MM-DDTHH:MM:SS`.
    Timestamp,
}

impl ColumnType {
    /// The Arrow type this column is stored as in Parquet.
    pub fn arrow_type(self) -> DataType {
        match self {
            ColumnType::Text => DataType::Utf8,
            ColumnType::Int => DataType::Int32,
            ColumnType::BigInt => DataType::Int64,
            ColumnType::Float => DataType::Float64,
            ColumnType::Money => DataType::Decimal128(MONEY_PRECISION, MONEY_SCALE),
            ColumnType::Bool => DataType::Boolean,
            ColumnType::Date => DataType::Date32,
            ColumnType::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, None),
        }
    }

    /// Short name used in the data dictionary.
    pub fn name(self) -> &'static str {
        match self {
            ColumnType::Text => "text",
            ColumnType::Int => "int32",
            ColumnType::BigInt => "int64",
            ColumnType::Float => "float64",
            ColumnType::Money => "decimal(18,2)",
            ColumnType::Bool => "bool",
            ColumnType::Date => "date",
            ColumnType::Timestamp => "timestamp",
        }
    }
}

/// Digits of a money column: up to 10^16 CNY, in fen.
pub const MONEY_PRECISION: u8 = 18;
/// Decimals of a money column: fen.
pub const MONEY_SCALE: i8 = 2;

/// One column of a table.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    /// Column name, snake_case, as it appears in export headers.
    pub name: &'static str,
    /// Logical type.
    pub ty: ColumnType,
    /// Whether a value must be present.
    pub required: bool,
    /// Unit of measure, if any (`km`, `CNY`, `h`, `months`, `score 1-10`).
    pub unit: Option<&'static str>,
    /// What the column means.
    pub description: &'static str,
}

const fn col(
    name: &'static str,
    ty: ColumnType,
    required: bool,
    unit: Option<&'static str>,
    description: &'static str,
) -> Column {
    Column {
        name,
        ty,
        required,
        unit,
        description,
    }
}

use ColumnType::*;

/// The tables of the domain model, in dependency order (a table only refers to
/// tables before it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Table {
    /// Service outlets: 4S dealers, chains and independent shops.
    Stations,
    /// Customers: owners and buyers of vehicles.
    Customers,
    /// Vehicles, identified by VIN.
    Vehicles,
    /// Used-car sale transactions; they move ownership of a vehicle.
    Transactions,
    /// Repair orders: every workshop visit.
    RepairOrders,
    /// Warranty claims raised from repair orders.
    WarrantyClaims,
    /// Customer satisfaction surveys that follow repair orders.
    Surveys,
}

const STATIONS: &[Column] = &[
    col(
        "station_id",
        Text,
        true,
        None,
        "Primary key, `ST` + 6 digits.",
    ),
    col(
        "name",
        Text,
        true,
        None,
        "Trading name; often Chinese, may contain commas.",
    ),
    col(
        "station_type",
        Text,
        true,
        None,
        "One of `dealer_4s`, `chain`, `independent`.",
    ),
    col(
        "brand",
        Text,
        false,
        None,
        "Franchised make for `dealer_4s` stations; empty otherwise.",
    ),
    col(
        "grade",
        Text,
        true,
        None,
        "Network grade: `AAA`, `AA`, `A` or `ungraded`.",
    ),
    col("city", Text, true, None, "City (Chinese name)."),
    col(
        "province",
        Text,
        true,
        None,
        "Province or municipality (Chinese name).",
    ),
    col("bays", Int, true, Some("count"), "Number of service bays."),
    col("opened_date", Date, true, None, "Date the outlet opened."),
];

const CUSTOMERS: &[Column] = &[
    col(
        "customer_id",
        Text,
        true,
        None,
        "Primary key, `C` + 8 digits.",
    ),
    col("name", Text, true, None, "Customer name (Chinese)."),
    col("city", Text, true, None, "City of residence."),
    col("province", Text, true, None, "Province of residence."),
    col(
        "preferred_channel",
        Text,
        true,
        None,
        "One of `online`, `in_store`, `o2o`.",
    ),
    col(
        "first_seen_date",
        Date,
        true,
        None,
        "First date the customer owned a vehicle known to the network.",
    ),
];

const VEHICLES: &[Column] = &[
    col(
        "vin",
        Text,
        true,
        None,
        "Primary key: 17-character VIN with a valid ISO 3779 check digit (position 9).",
    ),
    col("make", Text, true, None, "Manufacturer brand."),
    col("model", Text, true, None, "Model name."),
    col(
        "model_year",
        Int,
        true,
        Some("year"),
        "Model year (also coded in VIN position 10).",
    ),
    col(
        "powertrain",
        Text,
        true,
        None,
        "One of `ICE`, `HEV`, `PHEV`, `BEV`.",
    ),
    col(
        "first_registration_date",
        Date,
        true,
        None,
        "Date first registered; start of months in service.",
    ),
    col(
        "original_owner_id",
        Text,
        true,
        None,
        "Customer who owned the vehicle from first registration until its first used-car sale.",
    ),
];

const TRANSACTIONS: &[Column] = &[
    col(
        "transaction_id",
        Text,
        true,
        None,
        "Primary key, `T` + 9 digits.",
    ),
    col(
        "vin",
        Text,
        true,
        None,
        "Vehicle sold (references vehicles).",
    ),
    col(
        "station_id",
        Text,
        true,
        None,
        "Selling station (references stations).",
    ),
    col(
        "buyer_id",
        Text,
        true,
        None,
        "Buying customer; owner from the sale date on (references customers).",
    ),
    col("sale_date", Date, true, None, "Date of sale."),
    col(
        "odometer_km",
        BigInt,
        true,
        Some("km"),
        "Odometer reading at sale.",
    ),
    col("price_cny", Money, true, Some("CNY"), "Sale price."),
    col(
        "channel",
        Text,
        true,
        None,
        "One of `online_direct`, `dealer`, `auction`.",
    ),
    col(
        "financed",
        Bool,
        true,
        None,
        "Whether the purchase was financed.",
    ),
    col(
        "certified",
        Bool,
        true,
        None,
        "Certified pre-owned: carries 12 months of certified-used warranty.",
    ),
    col(
        "extended_warranty_months",
        Int,
        true,
        Some("months"),
        "Extended warranty bought with the car, 0 if none.",
    ),
];

const REPAIR_ORDERS: &[Column] = &[
    col("ro_id", Text, true, None, "Primary key, `RO` + 10 digits."),
    col(
        "vin",
        Text,
        true,
        None,
        "Vehicle serviced (references vehicles).",
    ),
    col(
        "customer_id",
        Text,
        true,
        None,
        "Owner of the vehicle on the opening date (references customers).",
    ),
    col(
        "station_id",
        Text,
        true,
        None,
        "Station that did the work (references stations).",
    ),
    col(
        "opened_at",
        Timestamp,
        true,
        None,
        "Local time the order was opened.",
    ),
    col(
        "closed_at",
        Timestamp,
        true,
        None,
        "Local time the vehicle was handed back; after `opened_at`.",
    ),
    col(
        "odometer_km",
        BigInt,
        true,
        Some("km"),
        "Odometer reading at opening.",
    ),
    col(
        "job_type",
        Text,
        true,
        None,
        "One of `maintenance`, `repair`, `warranty`, `insurance`, `recall`.",
    ),
    col(
        "component",
        Text,
        true,
        None,
        "Component worked on (`routine_service` for maintenance).",
    ),
    col(
        "complaint_code",
        Text,
        false,
        None,
        "Customer complaint code, e.g. `BRK-02`; empty for maintenance.",
    ),
    col(
        "labour_hours",
        Float,
        true,
        Some("h"),
        "Billed labour hours.",
    ),
    col("labour_cny", Money, true, Some("CNY"), "Labour amount."),
    col("parts_cny", Money, true, Some("CNY"), "Parts amount."),
];

const WARRANTY_CLAIMS: &[Column] = &[
    col(
        "claim_id",
        Text,
        true,
        None,
        "Primary key, `WC` + 9 digits.",
    ),
    col(
        "ro_id",
        Text,
        true,
        None,
        "Repair order the claim was raised from (references repair_orders).",
    ),
    col(
        "vin",
        Text,
        true,
        None,
        "Vehicle (references vehicles; equals the repair order's VIN).",
    ),
    col("component", Text, true, None, "Failed component."),
    col(
        "failure_date",
        Date,
        true,
        None,
        "Date the failure was reported.",
    ),
    col(
        "odometer_km",
        BigInt,
        true,
        Some("km"),
        "Odometer at failure.",
    ),
    col(
        "amount_cny",
        Money,
        true,
        Some("CNY"),
        "Claimed amount (labour plus parts).",
    ),
    col(
        "status",
        Text,
        true,
        None,
        "One of `approved`, `rejected`, `pending`.",
    ),
    col(
        "coverage",
        Text,
        true,
        None,
        "One of `factory`, `extended`, `certified_used`.",
    ),
];

const SURVEYS: &[Column] = &[
    col(
        "survey_id",
        Text,
        true,
        None,
        "Primary key, `S` + 9 digits.",
    ),
    col(
        "ro_id",
        Text,
        true,
        None,
        "Repair order the survey follows (references repair_orders).",
    ),
    col(
        "survey_date",
        Date,
        true,
        None,
        "Date the survey was answered.",
    ),
    col(
        "service_initiation",
        Int,
        true,
        Some("score 1-10"),
        "CSI factor: booking and reception.",
    ),
    col(
        "service_advisor",
        Int,
        true,
        Some("score 1-10"),
        "CSI factor: the service advisor.",
    ),
    col(
        "service_facility",
        Int,
        true,
        Some("score 1-10"),
        "CSI factor: the facility.",
    ),
    col(
        "vehicle_pickup",
        Int,
        true,
        Some("score 1-10"),
        "CSI factor: vehicle pick-up.",
    ),
    col(
        "service_quality",
        Int,
        true,
        Some("score 1-10"),
        "CSI factor: quality of the work.",
    ),
    col(
        "recommend",
        Int,
        true,
        Some("score 0-10"),
        "Likelihood to recommend (NPS question).",
    ),
];

impl Table {
    /// All tables, in dependency order.
    pub const ALL: [Table; 7] = [
        Table::Stations,
        Table::Customers,
        Table::Vehicles,
        Table::Transactions,
        Table::RepairOrders,
        Table::WarrantyClaims,
        Table::Surveys,
    ];

    /// The table's name, also the stem of its export files.
    pub fn name(self) -> &'static str {
        match self {
            Table::Stations => "stations",
            Table::Customers => "customers",
            Table::Vehicles => "vehicles",
            Table::Transactions => "transactions",
            Table::RepairOrders => "repair_orders",
            Table::WarrantyClaims => "warranty_claims",
            Table::Surveys => "surveys",
        }
    }

    /// Looks a table up by name.
    pub fn from_name(name: &str) -> Option<Table> {
        Table::ALL.into_iter().find(|t| t.name() == name)
    }

    /// Columns in export order.
    pub fn columns(self) -> &'static [Column] {
        match self {
            Table::Stations => STATIONS,
            Table::Customers => CUSTOMERS,
            Table::Vehicles => VEHICLES,
            Table::Transactions => TRANSACTIONS,
            Table::RepairOrders => REPAIR_ORDERS,
            Table::WarrantyClaims => WARRANTY_CLAIMS,
            Table::Surveys => SURVEYS,
        }
    }

    /// The primary-key column (always the first column).
    pub fn primary_key(self) -> &'static str {
        self.columns()[0].name
    }

    /// Position of a column by name.
    pub fn column_index(self, name: &str) -> Option<usize> {
        self.columns().iter().position(|c| c.name == name)
    }

    /// Foreign keys: `(column, referenced table)`.
    pub fn foreign_keys(self) -> &'static [(&'static str, Table)] {
        match self {
            Table::Stations | Table::Customers => &[],
            Table::Vehicles => &[("original_owner_id", Table::Customers)],
            Table::Transactions => &[
                ("vin", Table::Vehicles),
                ("station_id", Table::Stations),
                ("buyer_id", Table::Customers),
            ],
            Table::RepairOrders => &[
                ("vin", Table::Vehicles),
                ("customer_id", Table::Customers),
                ("station_id", Table::Stations),
            ],
            Table::WarrantyClaims => &[("ro_id", Table::RepairOrders), ("vin", Table::Vehicles)],
            Table::Surveys => &[("ro_id", Table::RepairOrders)],
        }
    }

    /// The date or timestamp column that places a row of a fact table in time;
    /// fact tables are sorted by it and partitioned by its month. `None` for
    /// dimension tables.
    pub fn event_column(self) -> Option<&'static str> {
        match self {
            Table::Stations | Table::Customers | Table::Vehicles => None,
            Table::Transactions => Some("sale_date"),
            Table::RepairOrders => Some("opened_at"),
            Table::WarrantyClaims => Some("failure_date"),
            Table::Surveys => Some("survey_date"),
        }
    }

    /// The typed Arrow schema of the table as stored in the warehouse.
    pub fn arrow_schema(self) -> SchemaRef {
        let fields: Vec<Field> = self
            .columns()
            .iter()
            .map(|c| Field::new(c.name, c.ty.arrow_type(), !c.required))
            .collect();
        Arc::new(Schema::new(fields))
    }
}

impl std::fmt::Display for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Allowed values of enumerated text columns: `(table, column, values)`.
pub const ENUMS: &[(Table, &str, &[&str])] = &[
    (
        Table::Stations,
        "station_type",
        &["dealer_4s", "chain", "independent"],
    ),
    (Table::Stations, "grade", &["AAA", "AA", "A", "ungraded"]),
    (
        Table::Customers,
        "preferred_channel",
        &["online", "in_store", "o2o"],
    ),
    (
        Table::Vehicles,
        "powertrain",
        &["ICE", "HEV", "PHEV", "BEV"],
    ),
    (
        Table::Transactions,
        "channel",
        &["online_direct", "dealer", "auction"],
    ),
    (
        Table::RepairOrders,
        "job_type",
        &["maintenance", "repair", "warranty", "insurance", "recall"],
    ),
    (
        Table::WarrantyClaims,
        "status",
        &["approved", "rejected", "pending"],
    ),
    (
        Table::WarrantyClaims,
        "coverage",
        &["factory", "extended", "certified_used"],
    ),
];

/// The allowed values of an enumerated column, if it is one.
pub fn enum_values(table: Table, column: &str) -> Option<&'static [&'static str]> {
    ENUMS
        .iter()
        .find(|(t, c, _)| *t == table && *c == column)
        .map(|(_, _, v)| *v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn primary_keys_are_first_and_required() {
        for t in Table::ALL {
            let first = t.columns()[0];
            assert!(first.required, "{t}: key must be required");
            assert!(
                first.name.ends_with("_id") || first.name == "vin",
                "{t}: {}",
                first.name
            );
        }
    }

    #[test]
    fn foreign_keys_point_backwards_at_existing_columns() {
        for t in Table::ALL {
            for (column, target) in t.foreign_keys() {
                assert!(t.column_index(column).is_some(), "{t}.{column}");
                assert!(*target < t, "{t}.{column} must refer to an earlier table");
            }
        }
    }

    #[test]
    fn enums_name_real_text_columns() {
        for (t, c, values) in ENUMS {
            let idx = t.column_index(c).expect("enum column exists");
            assert_eq!(t.columns()[idx].ty, ColumnType::Text);
            assert!(!values.is_empty());
        }
    }
}
