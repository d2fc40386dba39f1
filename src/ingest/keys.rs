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

use std::collections::HashMap;

use super::cache::{advise_huge_pages, prefetch};
use super::source::{Fields, Rejection};
use crate::schema::Table;

/// Hash of one key value.
pub fn key_hash(value: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(value.as_bytes())
}

/// How many keys ahead of the one being looked up [`PrimaryKeys`] asks the
/// CPU to fetch a slot: enough to overlap the cache misses of a large set.
const LOOK_AHEAD: usize = 16;

/// The primary keys of one table, hashed: a table of key hashes with open
/// addressing and linear probing, at most three quarters full.
///
/// Each key takes one 8-byte slot, found by its hash's low bits, so a lookup
/// costs one cache miss (a general hash set reads a control byte first, then
/// the key: two misses, one after the other). The batch operations
/// ([`PrimaryKeys::insert_all`], [`PrimaryKeys::contains_all`]) prefetch the
/// slots of keys further on, so that the misses of a batch overlap.
#[derive(Default)]
pub struct PrimaryKeys {
    /// A power of two of slots (or none yet); [`EMPTY`] marks a free one.
    slots: Vec<u64>,
    len: usize,
}

/// The value of a free slot.
const EMPTY: u64 = 0;

/// A hash as stored: a hash equal to [`EMPTY`] is stored as 1, so keys
/// hashing to 0 and 1 count as one (one more pair among 2⁶⁴ hashes).
fn stored(hash: u64) -> u64 {
    hash.max(1)
}

impl PrimaryKeys {
    /// Records a key hash; `false` if it was already there.
    pub fn insert(&mut self, hash: u64) -> bool {
        self.reserve(1);
        self.insert_with_room(stored(hash))
    }

    /// Records key hashes in order; returns the positions in `hashes` of
    /// those already there (including repeats within `hashes`).
    pub fn insert_all(&mut self, hashes: &[u64]) -> Vec<usize> {
        self.reserve(hashes.len());
        let mut present = Vec::new();
        for (i, &hash) in hashes.iter().enumerate() {
            if let Some(&ahead) = hashes.get(i + LOOK_AHEAD) {
                self.prefetch_slot(ahead);
            }
            if !self.insert_with_room(stored(hash)) {
                present.push(i);
            }
        }
        present
    }

    /// Makes room for `more` keys.
    pub fn reserve(&mut self, more: usize) {
        let needed = self.len + more;
        if needed * 4 > self.slots.len() * 3 {
            self.rebuild((needed * 4 / 3 + 1).next_power_of_two().max(16));
        }
    }

    /// Whether a key hash is in the set.
    pub fn contains(&self, hash: u64) -> bool {
        if self.slots.is_empty() {
            return false;
        }
        self.probe(stored(hash)).is_ok()
    }

    /// For each hash of `hashes` (`None` for none), whether it is in the set;
    /// `found(i, in_set)` hears the answer for position `i`. A hash equal to
    /// the one before gets the same answer without a lookup.
    pub fn contains_all(&self, hashes: &[Option<u64>], mut found: impl FnMut(usize, bool)) {
        let mut last: Option<(u64, bool)> = None;
        for (i, hash) in hashes.iter().enumerate() {
            if let Some(Some(ahead)) = hashes.get(i + LOOK_AHEAD) {
                self.prefetch_slot(*ahead);
            }
            let Some(hash) = *hash else { continue };
            let answer = match last {
                Some((previous, answer)) if previous == hash => answer,
                _ => self.contains(hash),
            };
            last = Some((hash, answer));
            found(i, answer);
        }
    }

    /// Stores a hash (already [`stored`]) where there is room for it.
    fn insert_with_room(&mut self, hash: u64) -> bool {
        match self.probe(hash) {
            Ok(_) => false,
            Err(free) => {
                self.slots[free] = hash;
                self.len += 1;
                true
            }
        }
    }

    /// Where a hash (already [`stored`]) is: `Ok` with its slot, or `Err`
    /// with the free slot that ends its probe. Needs at least one free slot.
    fn probe(&self, hash: u64) -> Result<usize, usize> {
        let mask = self.slots.len() - 1;
        let mut at = hash as usize & mask;
        loop {
            match self.slots[at] {
                EMPTY => return Err(at),
                slot if slot == hash => return Ok(at),
                _ => at = (at + 1) & mask,
            }
        }
    }

    /// Moves every key into a table of `slots` slots.
    fn rebuild(&mut self, slots: usize) {
        // Filled by writing, not allocated zeroed: zeroed memory would map
        // the shared zero page on the first lookup, and the first insert into
        // each page would then fault again and flush the other core's TLB.
        let mut fresh = Vec::with_capacity(slots);
        advise_huge_pages(&fresh);
        fresh.resize(slots, EMPTY);
        let old = std::mem::replace(&mut self.slots, fresh);
        self.len = 0;
        for hash in old.into_iter().filter(|&h| h != EMPTY) {
            self.insert_with_room(hash);
        }
    }

    /// Asks the CPU to start loading the home slot of `hash`.
    fn prefetch_slot(&self, hash: u64) {
        if self.slots.is_empty() {
            return;
        }
        let at = stored(hash) as usize & (self.slots.len() - 1);
        prefetch(self.slots.as_ptr().wrapping_add(at));
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
/// batch ([`PrimaryKeys::contains_all`]). The key sets are large (11 million
/// repair orders at scale 10), so nearly every lookup misses the cache;
/// looked up back to back, with the slots of later keys prefetched, the
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
            match r.keys {
                Some(keys) => keys.contains_all(&r.hashes, |row, found| {
                    if !found {
                        missing.push((row, c));
                    }
                }),
                None => missing.extend(
                    r.hashes
                        .iter()
                        .enumerate()
                        .filter(|(_, h)| h.is_some())
                        .map(|(row, _)| (row, c)),
                ),
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
    use rand::{Rng, SeedableRng};

    #[test]
    fn primary_keys_agree_with_a_hash_set_as_they_grow() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let mut keys = PrimaryKeys::default();
        let mut model = std::collections::HashSet::new();
        assert!(!keys.contains(5), "an empty set holds nothing");
        // Few distinct values, so that repeats are common, and low bits
        // shared by many values, so that probes run long and wrap around.
        let draw = |rng: &mut rand_chacha::ChaCha8Rng| -> u64 {
            let n: u64 = rng.random_range(0..50_000);
            (n << 40) | (n % 3)
        };
        for round in 0..40 {
            let batch: Vec<u64> = (0..rng.random_range(0..3000))
                .map(|_| draw(&mut rng))
                .collect();
            if round % 2 == 0 {
                let present = keys.insert_all(&batch);
                let mut expected = Vec::new();
                for (i, h) in batch.iter().enumerate() {
                    if !model.insert(*h) {
                        expected.push(i);
                    }
                }
                assert_eq!(present, expected, "round {round}");
            } else {
                for h in batch {
                    assert_eq!(keys.insert(h), model.insert(h));
                }
            }
            let probes: Vec<Option<u64>> = (0..500)
                .map(|_| rng.random_bool(0.9).then(|| draw(&mut rng)))
                .collect();
            let mut answers = Vec::new();
            keys.contains_all(&probes, |i, found| answers.push((i, found)));
            let expected: Vec<(usize, bool)> = probes
                .iter()
                .enumerate()
                .filter_map(|(i, h)| h.map(|h| (i, model.contains(&h))))
                .collect();
            assert_eq!(answers, expected, "round {round}");
            assert_eq!(keys.len, model.len());
            assert!(
                keys.len * 4 <= keys.slots.len() * 3,
                "at most three quarters full"
            );
        }
        // The one hash the table cannot store as itself.
        let mut zero = PrimaryKeys::default();
        assert!(zero.insert(0));
        assert!(zero.contains(0) && zero.contains(1) && !zero.contains(2));
    }

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
