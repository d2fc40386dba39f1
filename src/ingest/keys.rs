//! Primary and foreign keys across files and batches.
//!
//! Keys are kept as 64-bit hashes (SipHash with fixed keys), 8 bytes each,
//! so that the keys of a scale-10 warehouse (about 11 million repair orders)
//! fit in under 200 MB. Two distinct keys share a hash with probability about
//! n² / 2⁶⁵: 3 in a million for 11 million keys; such a pair would be
//! reported as a duplicate, never silently merged.

use std::collections::{HashMap, HashSet};
use std::hash::{DefaultHasher, Hash, Hasher};

use super::source::Rejection;
use crate::schema::Table;

/// Hash of one key value.
pub fn key_hash(value: &str) -> u64 {
    let mut h = DefaultHasher::new();
    value.hash(&mut h);
    h.finish()
}

/// Known keys of every table: those in the warehouse plus those accepted in this batch.
#[derive(Default)]
pub struct KeyRegistry {
    keys: HashMap<Table, HashSet<u64>>,
}

impl KeyRegistry {
    /// Adds a key of `table` that is already in the warehouse.
    pub fn insert_existing(&mut self, table: Table, key: &str) {
        self.keys.entry(table).or_default().insert(key_hash(key));
    }

    /// Number of keys known for a table.
    pub fn count(&self, table: Table) -> usize {
        self.keys.get(&table).map_or(0, HashSet::len)
    }

    /// Checks a validated row's references and primary key; on success records its key.
    pub fn check_and_insert(&mut self, table: Table, values: &[String]) -> Result<(), Rejection> {
        for (column, target) in table.foreign_keys() {
            let i = table
                .column_index(column)
                .expect("foreign-key columns exist");
            let v = values[i].trim();
            if !v.is_empty()
                && !self
                    .keys
                    .get(target)
                    .is_some_and(|k| k.contains(&key_hash(v)))
            {
                return Err(Rejection::column(
                    column,
                    "unknown_reference",
                    format!("`{v}` is not a known {} ({})", target.primary_key(), target),
                ));
            }
        }
        let key = values[0].trim();
        if !self.keys.entry(table).or_default().insert(key_hash(key)) {
            return Err(Rejection::column(
                table.primary_key(),
                "duplicate_key",
                format!(
                    "`{key}` already exists (earlier in this file, another file, or the warehouse)"
                ),
            ));
        }
        Ok(())
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
        assert_eq!(k.count(Table::Surveys), 1);
    }
}
