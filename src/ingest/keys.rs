//! Primary and foreign keys across files and batches.
//!
//! Keys are kept as 64-bit hashes (XXH3), 8 bytes each,
//! so that the keys of a scale-10 warehouse (about 11 million repair orders)
//! fit in under 200 MB. Two distinct keys share a hash with probability about
//! n² / 2⁶⁵: 3 in a million for 11 million keys; such a pair would be
//! reported as a duplicate, never silently merged.
//!
//! While a file is read, its table's keys are taken out of the registry
//! ([`KeyRegistry::take_primary`]) and grown in file order by one thread,
//! while the parsing threads check references against the other tables,
//! which do not change meanwhile (tables are read in dependency order).

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

use super::source::{Fields, Rejection};
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

/// The primary keys of one table, hashed.
#[derive(Default)]
pub struct PrimaryKeys(HashSet<u64, BuildHasherDefault<PassThrough>>);

impl PrimaryKeys {
    /// Records a key hash; `false` if it was already there.
    pub fn insert(&mut self, hash: u64) -> bool {
        self.0.insert(hash)
    }

    /// Makes room for `more` keys.
    pub fn reserve(&mut self, more: usize) {
        self.0.reserve(more);
    }

    fn contains(&self, hash: u64) -> bool {
        self.0.contains(&hash)
    }
}

/// Known keys of every table: those in the warehouse plus those accepted in this batch.
#[derive(Default)]
pub struct KeyRegistry {
    keys: HashMap<Table, PrimaryKeys>,
}

impl KeyRegistry {
    /// Adds a key of `table` that is already in the warehouse.
    pub fn insert_existing(&mut self, table: Table, key: &str) {
        self.keys.entry(table).or_default().insert(key_hash(key));
    }

    /// Takes the keys of `table` out, to be grown while its file is read.
    pub fn take_primary(&mut self, table: Table) -> PrimaryKeys {
        self.keys.remove(&table).unwrap_or_default()
    }

    /// Puts the keys of `table` back.
    pub fn put_primary(&mut self, table: Table, keys: PrimaryKeys) {
        self.keys.insert(table, keys);
    }

    /// A checker of the references of `table`'s rows against the keys known now.
    pub fn references(&self, table: Table) -> ReferenceChecker<'_> {
        let columns: Vec<_> = table
            .foreign_keys()
            .iter()
            .map(|(column, target)| {
                let i = table
                    .column_index(column)
                    .expect("foreign-key columns exist");
                (i, *column, *target, self.keys.get(target))
            })
            .collect();
        ReferenceChecker {
            last_found: vec![None; columns.len()],
            columns,
        }
    }
}

/// Checks that rows' references name known keys. It remembers the last key
/// found per reference: exports often list the rows of one vehicle or
/// customer together, and a repeated key then costs no lookup.
pub struct ReferenceChecker<'a> {
    /// Per reference: column index, column name, referenced table and its keys.
    columns: Vec<(usize, &'static str, Table, Option<&'a PrimaryKeys>)>,
    last_found: Vec<Option<u64>>,
}

impl ReferenceChecker<'_> {
    /// Checks a validated row (fields in schema order).
    pub fn check<F: Fields + ?Sized>(&mut self, values: &F) -> Result<(), Rejection> {
        for ((i, column, target, keys), last) in self.columns.iter().zip(&mut self.last_found) {
            let v = values.field(*i).trim();
            if v.is_empty() {
                continue; // an empty optional reference
            }
            let hash = key_hash(v);
            if *last == Some(hash) {
                continue;
            }
            if !keys.is_some_and(|k| k.contains(hash)) {
                return Err(Rejection::column(
                    column,
                    "unknown_reference",
                    format!("`{v}` is not a known {} ({})", target.primary_key(), target),
                ));
            }
            *last = Some(hash);
        }
        Ok(())
    }
}

/// The hash of a row's primary key (fields in schema order).
pub fn primary_hash<F: Fields + ?Sized>(values: &F) -> u64 {
    key_hash(values.field(0).trim())
}

/// The rejection of a row whose primary key `value` of `table` was seen before.
pub fn duplicate(table: Table, value: &str) -> Rejection {
    Rejection::column(
        table.primary_key(),
        "duplicate_key",
        format!("`{value}` already exists (earlier in this file, another file, or the warehouse)"),
    )
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
        let mut references = k.references(Table::Surveys);
        assert_eq!(references.check(&survey("S1", "RO1")), Ok(()));
        assert_eq!(references.check(&survey("S2", "RO1")), Ok(()));
        let e = references.check(&survey("S2", "RO9")).unwrap_err();
        assert_eq!((e.column, e.rule), (Some("ro_id"), "unknown_reference"));
        assert!(
            references.check(&survey("S3", "RO9")).is_err(),
            "a miss is not remembered"
        );

        let mut surveys = k.take_primary(Table::Surveys);
        assert!(surveys.insert(primary_hash(&survey("S1", "RO1"))));
        assert!(!surveys.insert(primary_hash(&survey(" S1 ", "RO1"))));
        k.put_primary(Table::Surveys, surveys);
        assert!(k.take_primary(Table::Surveys).contains(key_hash("S1")));
        assert_eq!(duplicate(Table::Surveys, "S1").rule, "duplicate_key");
    }
}
