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
        let columns = table
            .foreign_keys()
            .iter()
            .map(|(column, target)| Reference {
                index: table
                    .column_index(column)
                    .expect("foreign-key columns exist"),
                column,
                target: *target,
                keys: self.keys.get(target),
                hashes: Vec::new(),
            })
            .collect();
        ReferenceChecker { columns }
    }
}

/// Checks that rows' references name known keys, a chunk of rows at a time.
///
/// [`ReferenceChecker::record`] notes the references of each row as it is
/// accepted; [`ReferenceChecker::missing`] then looks them all up in one
/// tight loop. The key sets are large (11 million repair orders at scale 10),
/// so nearly every lookup misses the cache; looked up back to back, the
/// misses overlap instead of waiting one by one between rows. A reference
/// equal to the row before's reuses its answer: exports often list the rows
/// of one vehicle or customer together.
pub struct ReferenceChecker<'a> {
    columns: Vec<Reference<'a>>,
}

struct Reference<'a> {
    /// Column index in the table's schema.
    index: usize,
    column: &'static str,
    target: Table,
    keys: Option<&'a PrimaryKeys>,
    /// Per recorded row: the reference's hash, or `None` when it is empty (optional).
    hashes: Vec<Option<u64>>,
}

impl ReferenceChecker<'_> {
    /// Notes the references of a validated row (fields in schema order).
    pub fn record<F: Fields + ?Sized>(&mut self, values: &F) {
        for r in &mut self.columns {
            let v = values.value(r.index);
            r.hashes.push((!v.is_empty()).then(|| key_hash(v)));
        }
    }

    /// Looks up every reference recorded since the last call and forgets them.
    /// Returns the rows (in recording order, from 0) that name an unknown key,
    /// each with the position of its first such reference (see
    /// [`ReferenceChecker::column`] and [`ReferenceChecker::unknown`]).
    pub fn missing(&mut self) -> Vec<(usize, usize)> {
        let mut missing = Vec::new();
        for (c, r) in self.columns.iter_mut().enumerate() {
            let mut last: Option<(u64, bool)> = None;
            for (row, hash) in r.hashes.iter().enumerate() {
                let Some(hash) = *hash else { continue };
                let found = match last {
                    Some((previous, found)) if previous == hash => found,
                    _ => r.keys.is_some_and(|k| k.contains(hash)),
                };
                last = Some((hash, found));
                if !found {
                    missing.push((row, c));
                }
            }
            r.hashes.clear();
        }
        // The first unknown reference of each row, in column order.
        missing.sort_unstable();
        missing.dedup_by_key(|(row, _)| *row);
        missing
    }

    /// Schema index of the column of reference `reference`.
    pub fn column(&self, reference: usize) -> usize {
        self.columns[reference].index
    }

    /// The rejection of a row whose reference `reference` names the unknown key `value`.
    pub fn unknown(&self, reference: usize, value: &str) -> Rejection {
        let r = &self.columns[reference];
        Rejection::column(
            r.column,
            "unknown_reference",
            format!(
                "`{value}` is not a known {} ({})",
                r.target.primary_key(),
                r.target
            ),
        )
    }
}

/// The hash of a row's primary key (fields in schema order).
pub fn primary_hash<F: Fields + ?Sized>(values: &F) -> u64 {
    key_hash(values.value(0))
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
        for (id, ro) in [
            ("S1", "RO1"),
            ("S2", "RO1"),
            ("S2", "RO9"),
            ("S3", "RO9"),
            ("S4", "RO1"),
        ] {
            references.record(&survey(id, ro));
        }
        // A miss is not remembered as a hit, and a repeated miss is still a miss.
        assert_eq!(references.missing(), vec![(2, 0), (3, 0)]);
        assert!(
            references.missing().is_empty(),
            "recorded rows are forgotten"
        );
        let e = references.unknown(0, "RO9");
        assert_eq!((e.column, e.rule), (Some("ro_id"), "unknown_reference"));
        assert_eq!(references.column(0), 1);

        let mut surveys = k.take_primary(Table::Surveys);
        assert!(surveys.insert(primary_hash(&survey("S1", "RO1"))));
        assert!(!surveys.insert(primary_hash(&survey(" S1 ", "RO1"))));
        k.put_primary(Table::Surveys, surveys);
        assert!(k.take_primary(Table::Surveys).contains(key_hash("S1")));
        assert_eq!(duplicate(Table::Surveys, "S1").rule, "duplicate_key");
    }
}
