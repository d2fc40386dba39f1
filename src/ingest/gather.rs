//! Reordering rows: Arrow's `take`, with a faster path for string columns.
//!
//! Ingest reorders every accepted row twice (grouping a chunk by month,
//! sorting a month by time), and most of what it moves are short strings:
//! keys and VINs of 8 to 17 bytes, picked all over a column larger than the
//! core's caches. Waiting for memory, not copying, is what costs, so
//! [`take_rows`] prefetches the offsets and bytes of the values it copies
//! next. A short value is copied as one fixed 32-byte block
//! (two vector moves, the bytes past its end cut off again) rather than
//! through a `memcpy` call of its length.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, StringArray, UInt32Array};
use datafusion::arrow::buffer::{OffsetBuffer, ScalarBuffer};
use datafusion::arrow::compute::take;
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::record_batch::RecordBatch;

use super::cache::prefetch;

/// Bytes copied at once for a value no longer than this.
const STRIDE: usize = 32;
/// How many picks ahead memory is prefetched.
const AHEAD: usize = 32;

/// The rows of `batch` at `indices`, in that order.
pub fn take_rows(batch: &RecordBatch, indices: &[u32]) -> Result<RecordBatch, ArrowError> {
    let mut arrow_indices = None;
    let columns = batch
        .columns()
        .iter()
        .map(|column| match column.data_type() {
            DataType::Utf8 if column.null_count() == 0 => {
                take_strings(column.as_string::<i32>(), indices)
            }
            _ => {
                let arrow_indices =
                    arrow_indices.get_or_insert_with(|| UInt32Array::from(indices.to_vec()));
                take(column, arrow_indices, None)
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    RecordBatch::try_new(batch.schema(), columns)
}

/// The values of a string column without nulls at `indices`.
///
/// The picks are scattered over a column larger than the core's caches, so
/// each would wait for memory twice (its offsets, then its bytes): both are
/// prefetched [`AHEAD`] picks early, in two passes.
#[allow(unsafe_code)]
fn take_strings(array: &StringArray, indices: &[u32]) -> Result<ArrayRef, ArrowError> {
    let offsets = array.value_offsets();
    let data = array.values().as_slice();
    // Pass 1: where each pick starts, and the new offsets.
    let mut starts = Vec::with_capacity(indices.len());
    let mut new_offsets = Vec::with_capacity(indices.len() + 1);
    new_offsets.push(0i32);
    let mut total = 0usize;
    for (k, &i) in indices.iter().enumerate() {
        if let Some(&ahead) = indices.get(k + AHEAD) {
            prefetch(offsets.as_ptr().wrapping_add(ahead as usize));
        }
        let (start, end) = (
            offsets[i as usize] as usize,
            offsets[i as usize + 1] as usize,
        );
        starts.push(start);
        total += end - start;
        new_offsets.push(i32::try_from(total).map_err(|_| ArrowError::OffsetOverflowError(total))?);
    }
    // Pass 2: the bytes, a short value with whatever follows it, cut back.
    let mut values = Vec::with_capacity(total + STRIDE);
    for (k, (&start, ends)) in starts.iter().zip(new_offsets.windows(2)).enumerate() {
        if let Some(&ahead) = starts.get(k + AHEAD) {
            prefetch(data.as_ptr().wrapping_add(ahead));
        }
        let end = start + (ends[1] - ends[0]) as usize;
        if end - start <= STRIDE && start + STRIDE <= data.len() {
            values.extend_from_slice(&data[start..start + STRIDE]);
            values.truncate(ends[1] as usize);
        } else {
            values.extend_from_slice(&data[start..end]);
        }
    }
    // SAFETY: the offsets start at 0, never decrease and end at the length
    // of `values`, which holds whole values of a valid string array, one
    // after the other: every value is valid UTF-8 and starts on a character.
    let strings = unsafe {
        StringArray::new_unchecked(
            OffsetBuffer::new_unchecked(ScalarBuffer::from(new_offsets)),
            values.into(),
            None,
        )
    };
    Ok(Arc::new(strings))
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::Int64Array;
    use datafusion::arrow::datatypes::{Field, Schema};

    /// A small deterministic generator, so the test needs no extra crate.
    struct Lcg(u64);

    impl Lcg {
        fn below(&mut self, n: usize) -> usize {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((self.0 >> 33) % n as u64) as usize
        }
    }

    #[test]
    fn rows_come_out_as_arrow_take_gives_them() {
        let mut rng = Lcg(7);
        for case in 0..60 {
            let rows = 1 + rng.below(300);
            // Lengths around the stride, multi-byte characters, and the
            // buffer's last value (no slack after it).
            let text: Vec<String> = (0..rows)
                .map(|r| {
                    let len = [0, 1, 8, 17, 31, 32, 33, 70][rng.below(8)];
                    let unit = if r % 5 == 0 { "车" } else { "a" };
                    format!("{r}{}", unit.repeat(len))
                })
                .collect();
            let maybe_null: Vec<Option<&str>> = text
                .iter()
                .enumerate()
                .map(|(r, s)| (r % 7 != 3).then_some(s.as_str()))
                .collect();
            let schema = Arc::new(Schema::new(vec![
                Field::new("s", DataType::Utf8, false),
                Field::new("n", DataType::Utf8, true),
                Field::new("i", DataType::Int64, false),
            ]));
            let batch = RecordBatch::try_new(
                schema,
                vec![
                    Arc::new(StringArray::from(text.clone())),
                    Arc::new(StringArray::from(maybe_null)),
                    Arc::new(Int64Array::from_iter_values(0..rows as i64)),
                ],
            )
            .unwrap();
            // A slice too: its offsets do not start at 0.
            let skip = rng.below(rows);
            let batch = batch.slice(skip, rows - skip);
            let picks: Vec<u32> = (0..rng.below(400))
                .map(|_| rng.below(batch.num_rows()) as u32)
                .collect();
            let expected = datafusion::arrow::compute::take_record_batch(
                &batch,
                &UInt32Array::from(picks.clone()),
            )
            .unwrap();
            assert_eq!(take_rows(&batch, &picks).unwrap(), expected, "case {case}");
        }
    }
}
