//! Primary and foreign keys across files and batches.
//!
//! Keys are kept as 64-bit hashes (XXH3), 8 bytes each,
//! so that the keys of a scale-10 warehouse (about 11 million repair orders)
//! fit in under 200 MB. Two distinct keys share a hash with probability about
//! n² / 2⁶⁵: 3 in a million for 11 million keys; such a pair would be
//! reported as a duplicate, never silently merged.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

use super::source::Rejection;
use crate::schema::Table;

/// Hash of one key value.
pub fn key_hash(value: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(value.as_bytes())
}

/// The set's own hasher passes the (already well mixed) key hash through.
#[derive(Default)]
struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, _: &[u8]) {
        unreachable!("only u64 keys are hashed")
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type HashedKeys = HashSet<u64, BuildHasherDefault<PassThrough>>;

/// Known keys of every table: those in the warehouse plus those accepted in this batch.
#[derive(Default)]
pub struct KeyRegistry {
    keys: HashMap<Table, HashedKeys>,
}

impl KeyRegistry {
    /// Adds a key of `table` that is already in the warehouse.
    pub fn insert_existing(&mut self, table: Table, key: &str) {
        self.keys.entry(table).or_default().insert(key_hash(key));
    }

    /// Checks a validated row's references and primary key; on success records its key.
    pub fn check_and_insert(&mut self, table: Table, values: &[String]) -> Result<(), Rejection> {
        let key = RowKeys::of(table, values);
        self.check(table, &key, |i| values[i].trim().to_owned())
    }

    /// Checks hashed keys of a row of `table`; `text(column index)` gives
    /// the value for messages. On success the primary key is recorded.
    pub fn check(
        &mut self,
        table: Table,
        keys: &RowKeys,
        text: impl Fn(usize) -> String,
    ) -> Result<(), Rejection> {
        for ((column, target), hash) in table.foreign_keys().iter().zip(&keys.foreign) {
            if let Some(h) = hash
                && !self.keys.get(target).is_some_and(|k| k.contains(h))
            {
                let v = text(
                    table
                        .column_index(column)
                        .expect("foreign-key columns exist"),
                );
                return Err(Rejection::column(
                    column,
                    "unknown_reference",
                    format!("`{v}` is not a known {} ({})", target.primary_key(), target),
                ));
            }
        }
        if !self.keys.entry(table).or_default().insert(keys.primary) {
            return Err(Rejection::column(
                table.primary_key(),
                "duplicate_key",
                format!(
                    "`{}` already exists (earlier in this file, another file, or the warehouse)",
                    text(0)
                ),
            ));
        }
        Ok(())
    }
}

/// The hashed keys of one row: its primary key and its foreign keys (in
/// [`Table::foreign_keys`] order; `None` for an empty optional reference).
#[derive(Debug, Clone, Default)]
pub struct RowKeys {
    /// Primary-key hash.
    pub primary: u64,
    /// Foreign-key hashes.
    pub foreign: Vec<Option<u64>>,
}

impl RowKeys {
    /// Hashes the keys of a row given in schema order.
    pub fn of(table: Table, values: &[String]) -> RowKeys {
        RowKeys {
            primary: key_hash(values[0].trim()),
            foreign: table
                .foreign_keys()
                .iter()
                .map(|(column, _)| {
                    let i = table
                        .column_index(column)
                        .expect("foreign-key columns exist");
                    let v = values[i].trim();
                    (!v.is_empty()).then(|| key_hash(v))
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_and_duplicates_are_caught() {
        let mut k = KeyRegistry::default();
        k.insert_existing(Table::RepairOrders, "RO1");
        let survey = |id: &str, ro: &str| -> Vec<String> {
            let mut v = vec![id.to_owned(), ro.to_owned()];
            v.resize(Table::Surveys.columns().len(), "5".into());
            v
        };
        assert_eq!(
            k.check_and_insert(Table::Surveys, &survey("S1", "RO1")),
            Ok(())
        );
        assert_eq!(
            k.check_and_insert(Table::Surveys, &survey("S1", "RO1"))
                .unwrap_err()
                .rule,
            "duplicate_key"
        );
        let e = k
            .check_and_insert(Table::Surveys, &survey("S2", "RO9"))
            .unwrap_err();
        assert_eq!((e.column, e.rule), (Some("ro_id"), "unknown_reference"));
    }
}
