//! Names, units and number formats of the columns a report table shows,
//! from one table (`src/terms/columns.csv`: key, format, English, Chinese,
//! unit in each language). The CSVs keep raw values; pages format them.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::charts::Lang;

/// How a column's values read on a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnFormat {
    /// Text, as it is.
    Text,
    /// Whole numbers with thousands separators: 12,345.
    Count,
    /// Money to the fen with thousands separators: 9,664.50.
    Money,
    /// A fraction shown as a percentage: 0.7945 → 79.5 %.
    Share,
    /// A rate or an expectation, two decimals: 63.19.
    Rate,
    /// Hours, one decimal: 2.7.
    Hours,
    /// A score on its scale, one decimal: 7.8.
    Score,
    /// Any other number, up to three decimals.
    Number,
}

impl ColumnFormat {
    fn parse(code: &str) -> Option<ColumnFormat> {
        Some(match code {
            "text" => ColumnFormat::Text,
            "count" => ColumnFormat::Count,
            "money" => ColumnFormat::Money,
            "share" => ColumnFormat::Share,
            "rate" => ColumnFormat::Rate,
            "hours" => ColumnFormat::Hours,
            "score" => ColumnFormat::Score,
            "number" => ColumnFormat::Number,
            _ => return None,
        })
    }

    /// Whether its cells are numbers (right-aligned).
    pub fn is_numeric(self) -> bool {
        self != ColumnFormat::Text
    }

    /// A value as it reads on a page.
    pub fn format(self, value: f64, lang: Lang) -> String {
        if !value.is_finite() {
            return String::new();
        }
        match self {
            ColumnFormat::Text => value.to_string(),
            ColumnFormat::Count => grouped(value, 0),
            ColumnFormat::Money | ColumnFormat::Rate => grouped(value, 2),
            ColumnFormat::Share => {
                let pct = grouped(100.0 * value, 1);
                if lang == Lang::Zh {
                    format!("{pct}%")
                } else {
                    format!("{pct} %")
                }
            }
            ColumnFormat::Hours | ColumnFormat::Score => grouped(value, 1),
            ColumnFormat::Number => {
                let text = grouped(value, 3);
                if text.contains('.') {
                    text.trim_end_matches('0').trim_end_matches('.').to_owned()
                } else {
                    text
                }
            }
        }
    }
}

/// A number with `decimals` decimals and a comma between thousands.
fn grouped(value: f64, decimals: usize) -> String {
    let text = format!("{:.*}", decimals, value.abs());
    let (whole, fraction) = text
        .split_once('.')
        .map_or((text.as_str(), None), |(w, f)| (w, Some(f)));
    let mut out = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if let Some(f) = fraction {
        out.push('.');
        out.push_str(f);
    }
    let negative = value < 0.0 && out.chars().any(|c| c.is_ascii_digit() && c != '0');
    if negative { format!("-{out}") } else { out }
}

/// A column's names and format.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnTerm {
    /// How its values read.
    pub format: ColumnFormat,
    names: [&'static str; 2],
    units: [&'static str; 2],
}

impl ColumnTerm {
    /// The header in a language, with its unit: "Labour (CNY)", "工时费（元）".
    pub fn header(&self, lang: Lang) -> String {
        let i = usize::from(lang == Lang::Zh);
        match (self.units[i], lang) {
            ("", _) => self.names[i].to_owned(),
            (unit, Lang::Zh) => format!("{}（{unit}）", self.names[i]),
            (unit, _) => format!("{} ({unit})", self.names[i]),
        }
    }
}

const TABLE: &str = include_str!("columns.csv");

fn terms() -> &'static HashMap<&'static str, ColumnTerm> {
    static TERMS: OnceLock<HashMap<&'static str, ColumnTerm>> = OnceLock::new();
    TERMS.get_or_init(|| {
        TABLE
            .lines()
            .skip(1)
            .filter(|line| !line.trim().is_empty())
            .map(|line| {
                let f: Vec<&'static str> = line.split(',').collect();
                let term = ColumnTerm {
                    format: ColumnFormat::parse(f[1])
                        .expect("every format in columns.csv is known (tested)"),
                    names: [f[2], f[3]],
                    units: [f[4], f[5]],
                };
                (f[0], term)
            })
            .collect()
    })
}

/// The names and format of a column, when the table has it.
pub fn column(key: &str) -> Option<&'static ColumnTerm> {
    terms().get(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_well_formed() {
        for (n, line) in TABLE.lines().enumerate().skip(1) {
            let f: Vec<&str> = line.split(',').collect();
            assert_eq!(f.len(), 6, "columns.csv line {}: {line}", n + 1);
            assert!(
                ColumnFormat::parse(f[1]).is_some(),
                "line {}: format `{}`",
                n + 1,
                f[1]
            );
            assert!(
                !f[2].is_empty() && !f[3].is_empty(),
                "line {}: both names",
                n + 1
            );
            assert_eq!(
                f[4].is_empty(),
                f[5].is_empty(),
                "line {}: a unit in both languages or neither",
                n + 1
            );
        }
    }

    #[test]
    fn numbers_read_by_their_kind() {
        assert_eq!(ColumnFormat::Money.format(9664.5, Lang::En), "9,664.50");
        assert_eq!(ColumnFormat::Share.format(0.7945, Lang::En), "79.5 %");
        assert_eq!(ColumnFormat::Share.format(0.7945, Lang::Zh), "79.5%");
        assert_eq!(ColumnFormat::Count.format(1234567.0, Lang::En), "1,234,567");
        assert_eq!(ColumnFormat::Number.format(-0.25, Lang::En), "-0.25");
        assert_eq!(ColumnFormat::Number.format(3.0, Lang::En), "3");
        assert_eq!(ColumnFormat::Rate.format(-0.001, Lang::En), "0.00");
        let labour = column("labour_cny").unwrap();
        assert_eq!(labour.header(Lang::En), "Labour (CNY)");
        assert_eq!(labour.header(Lang::Zh), "工时费（元）");
    }
}
