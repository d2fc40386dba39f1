//! Spill and table files that bypass the page cache.
//!
//! A spill file is written once and read back once, minutes later at most;
//! a table file is written once and read later, if at all, by another
//! program. Through the page cache every byte would first be copied into
//! freshly allocated cache pages, and on a virtual machine touching fresh
//! memory is slow (benches/README.md has the measurement). So [`DirectWriter`] gathers bytes
//! in one aligned buffer it reuses and writes whole blocks, [`SpillWriter`]
//! writes the Arrow IPC stream through it, and [`SpillReader`] reads
//! batches' aligned byte ranges, several at once, straight into memory the
//! caller recycles. Where the file system refuses `O_DIRECT` (tmpfs), the
//! same code runs through the page cache.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::ops::Range;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::arrow::buffer::Buffer;
use datafusion::arrow::datatypes::Schema;
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::ipc::reader::{FileDecoder, read_footer_length};
use datafusion::arrow::ipc::writer::FileWriter;
use datafusion::arrow::ipc::{Block, MetadataVersion, root_as_footer};
use datafusion::arrow::record_batch::RecordBatch;

/// Alignment of `O_DIRECT` transfers: offsets, lengths and memory.
const BLOCK: usize = 4096;
/// Bytes gathered before a write.
const WRITE_BUFFER: usize = 4 << 20;

/// Opens `path` with `O_DIRECT`, or without where the file system refuses it.
fn open_direct(options: &mut OpenOptions, path: &Path) -> io::Result<File> {
    match options.clone().custom_flags(libc::O_DIRECT).open(path) {
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => options.open(path),
        opened => opened,
    }
}

/// A byte buffer whose usable region starts on a [`BLOCK`] boundary.
struct Aligned {
    bytes: Vec<u8>,
    start: usize,
}

impl Aligned {
    /// An aligned region of at least `len` bytes, reusing `bytes`' memory
    /// (its old contents stay: every caller overwrites what it uses).
    fn new(mut bytes: Vec<u8>, len: usize) -> Aligned {
        if bytes.len() < len + BLOCK {
            bytes.resize(len + BLOCK, 0);
        }
        let start = bytes.as_ptr().align_offset(BLOCK);
        Aligned { bytes, start }
    }

    fn region(&mut self, range: Range<usize>) -> &mut [u8] {
        &mut self.bytes[self.start + range.start..self.start + range.end]
    }
}

/// An Arrow IPC file written in whole aligned blocks.
pub struct SpillWriter {
    ipc: FileWriter<DirectWriter>,
}

impl SpillWriter {
    /// Creates (or truncates) the file at `path` for batches of `schema`.
    pub fn create(path: &Path, schema: &Schema) -> Result<SpillWriter, ArrowError> {
        Ok(SpillWriter {
            ipc: FileWriter::try_new(DirectWriter::create(path, Vec::new())?, schema)?,
        })
    }

    /// Appends a batch; its index in the file is the number of batches before it.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<(), ArrowError> {
        self.ipc.write(batch)
    }

    /// Writes the footer and the rest of the file.
    pub fn finish(self) -> Result<(), ArrowError> {
        self.ipc.into_inner()?.finish()?;
        Ok(())
    }
}

/// A file written from a reused aligned buffer, [`WRITE_BUFFER`] bytes at a
/// time, bypassing the page cache where the file system allows. Nothing is
/// complete until [`DirectWriter::finish`] writes the remainder.
pub struct DirectWriter {
    file: File,
    buffer: Aligned,
    filled: usize,
    written: u64,
}

impl DirectWriter {
    /// Creates (or truncates) the file at `path`; its buffer reuses `memory`.
    pub fn create(path: &Path, memory: Vec<u8>) -> io::Result<DirectWriter> {
        let file = open_direct(
            OpenOptions::new().write(true).create(true).truncate(true),
            path,
        )?;
        Ok(DirectWriter {
            file,
            buffer: Aligned::new(memory, WRITE_BUFFER),
            filled: 0,
            written: 0,
        })
    }

    /// Writes the last partial block and trims its padding; gives back the
    /// buffer's memory for the next file.
    pub fn finish(mut self) -> io::Result<Vec<u8>> {
        let filled = self.filled;
        let padded = filled.next_multiple_of(BLOCK);
        self.buffer.region(filled..padded).fill(0);
        self.file.write_all(self.buffer.region(0..padded))?;
        self.file.set_len(self.written + filled as u64)?;
        Ok(self.buffer.bytes)
    }
}

impl Write for DirectWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let n = data.len().min(WRITE_BUFFER - self.filled);
        self.buffer
            .region(self.filled..self.filled + n)
            .copy_from_slice(&data[..n]);
        self.filled += n;
        if self.filled == WRITE_BUFFER {
            self.file.write_all(self.buffer.region(0..WRITE_BUFFER))?;
            self.written += WRITE_BUFFER as u64;
            self.filled = 0;
        }
        Ok(n)
    }

    /// Whole blocks only reach the file; [`DirectWriter::finish`] writes the rest.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Reads batches of a finished spill file by index.
pub struct SpillReader {
    file: File,
    path: PathBuf,
    schema: Arc<Schema>,
    version: MetadataVersion,
    blocks: Vec<Block>,
}

impl SpillReader {
    /// Opens a file [`SpillWriter`] finished and reads its footer.
    pub fn open(path: &Path, schema: Arc<Schema>) -> Result<SpillReader, ArrowError> {
        let file = open_direct(OpenOptions::new().read(true), path)?;
        let len = file.metadata()?.len() as usize;
        let tail = 10.min(len);
        let (buffer, at) = read_range(&file, len - tail..len, Vec::new())?;
        let trailer: [u8; 10] = buffer[at.clone()]
            .try_into()
            .map_err(|_| ArrowError::IpcError(format!("{} is truncated", path.display())))?;
        let footer_len = read_footer_length(trailer)?;
        let footer_start = len
            .checked_sub(10 + footer_len)
            .ok_or_else(|| ArrowError::IpcError(format!("{} is truncated", path.display())))?;
        let (buffer, at) = read_range(&file, footer_start..len - 10, Vec::new())?;
        let footer =
            root_as_footer(&buffer[at]).map_err(|e| ArrowError::IpcError(e.to_string()))?;
        let blocks = footer
            .recordBatches()
            .map(|b| b.iter().copied().collect())
            .unwrap_or_default();
        Ok(SpillReader {
            file,
            path: path.to_path_buf(),
            schema,
            version: footer.version(),
            blocks,
        })
    }

    /// The batches at `indexes`, in that order. They are read into `scratch`
    /// (memory to reuse); once they are dropped, [`Buffer::into_vec`] on the
    /// returned buffer gives that memory back.
    pub fn read(
        &self,
        indexes: &[usize],
        scratch: Vec<u8>,
    ) -> Result<(Vec<RecordBatch>, Buffer), ArrowError> {
        let mut ranges = Vec::with_capacity(indexes.len());
        for &index in indexes {
            let block = self.blocks.get(index).ok_or_else(|| {
                ArrowError::IpcError(format!("{} has no batch {index}", self.path.display()))
            })?;
            let start = block.offset() as usize;
            let len = block.metaDataLength() as usize + block.bodyLength() as usize;
            ranges.push(start..start + len);
        }
        let (buffer, at) = read_ranges(&self.file, &ranges, scratch)?;
        let decoder = FileDecoder::new(Arc::clone(&self.schema), self.version);
        let batches = indexes
            .iter()
            .zip(at)
            .map(|(&index, at)| {
                let data = buffer.slice_with_length(at.start, at.len());
                decoder
                    .read_record_batch(&self.blocks[index], &data)?
                    .ok_or_else(|| {
                        ArrowError::IpcError(format!(
                            "{} batch {index} is empty",
                            self.path.display()
                        ))
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok((batches, buffer))
    }
}

/// Reads one byte range; where it lies in the returned buffer.
fn read_range(
    file: &File,
    range: Range<usize>,
    scratch: Vec<u8>,
) -> io::Result<(Buffer, Range<usize>)> {
    let (buffer, mut at) = read_ranges(file, std::slice::from_ref(&range), scratch)?;
    Ok((buffer, at.remove(0)))
}

/// Reads byte ranges of a file, each through an aligned read of the blocks
/// around it, into `scratch`; where each range lies in the returned buffer.
///
/// A part's batches lie apart in its spill file (one per spill), and each is
/// a read of its own that waits for the disk. Up to [`READERS`] threads
/// read them at once, each a run of consecutive ranges.
fn read_ranges(
    file: &File,
    ranges: &[Range<usize>],
    scratch: Vec<u8>,
) -> io::Result<(Buffer, Vec<Range<usize>>)> {
    let aligned: Vec<Range<usize>> = ranges
        .iter()
        .map(|r| r.start / BLOCK * BLOCK..r.end.next_multiple_of(BLOCK))
        .collect();
    let total = aligned.iter().map(ExactSizeIterator::len).sum();
    let mut memory = Aligned::new(scratch, total);
    let mut at = Vec::with_capacity(ranges.len());
    let mut pos = 0;
    for (range, block) in ranges.iter().zip(&aligned) {
        let offset = memory.start + pos + (range.start - block.start);
        at.push(offset..offset + range.len());
        pos += block.len();
    }
    // Runs of consecutive ranges, one per reader, and the memory each fills.
    let per_reader = ranges.len().div_ceil(READERS).max(1);
    let mut rest = memory.region(0..total);
    let mut runs = Vec::new();
    for (range_run, block_run) in ranges.chunks(per_reader).zip(aligned.chunks(per_reader)) {
        let len = block_run.iter().map(ExactSizeIterator::len).sum();
        let (region, tail) = std::mem::take(&mut rest).split_at_mut(len);
        rest = tail;
        runs.push((range_run, block_run, region));
    }
    let last = runs.pop();
    std::thread::scope(|scope| {
        let others: Vec<_> = runs
            .into_iter()
            .map(|(r, b, m)| scope.spawn(move || read_run(file, r, b, m)))
            .collect();
        let mine = last.map_or(Ok(()), |(r, b, m)| read_run(file, r, b, m));
        others
            .into_iter()
            .map(|h| h.join().expect("a reader does not panic"))
            .chain([mine])
            .collect::<io::Result<()>>()
    })?;
    Ok((Buffer::from_vec(memory.bytes), at))
}

/// Threads reading one part's spilled batches at once: reads that overlap
/// keep the writer busy while each one waits for the disk.
const READERS: usize = 4;

/// Reads the aligned `blocks` around `ranges`, one after another, into `memory`.
fn read_run(
    file: &File,
    ranges: &[Range<usize>],
    blocks: &[Range<usize>],
    memory: &mut [u8],
) -> io::Result<()> {
    let mut pos = 0;
    for (range, block) in ranges.iter().zip(blocks) {
        let region = &mut memory[pos..pos + block.len()];
        let mut done = 0;
        while done < region.len() {
            match file.read_at(&mut region[done..], (block.start + done) as u64) {
                Ok(0) => break, // the file's last block is partial
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        if block.start + done < range.end {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "a spill file ends before the batch it should hold",
            ));
        }
        pos += block.len();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{AsArray, Int64Array, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Int64Type};

    fn schema() -> Arc<Schema> {
        Arc::new(Schema::new(vec![
            Field::new("n", DataType::Int64, false),
            Field::new("text", DataType::Utf8, false),
        ]))
    }

    /// A batch of `rows` rows numbered from `first`, with text long enough
    /// that a few batches cross the write buffer's boundary.
    fn batch(schema: &Arc<Schema>, first: i64, rows: usize) -> RecordBatch {
        let numbers: Vec<i64> = (first..first + rows as i64).collect();
        let text: Vec<String> = numbers.iter().map(|n| format!("row {n:>40}")).collect();
        RecordBatch::try_new(
            Arc::clone(schema),
            vec![
                Arc::new(Int64Array::from(numbers)),
                Arc::new(StringArray::from(text)),
            ],
        )
        .unwrap()
    }

    #[test]
    fn batches_come_back_by_index_whatever_their_alignment() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("spill.arrow");
        let schema = schema();
        // Sizes from one row to several write buffers' worth.
        let sizes = [1, 37, 100_000, 3, 250_000, 4096, 1];
        let mut writer = SpillWriter::create(&path, &schema).unwrap();
        let mut first = 0;
        let mut firsts = Vec::new();
        for &rows in &sizes {
            writer.write(&batch(&schema, first, rows)).unwrap();
            firsts.push(first);
            first += rows as i64;
        }
        writer.finish().unwrap();

        let reader = SpillReader::open(&path, Arc::clone(&schema)).unwrap();
        let mut scratch = Vec::new();
        // One range per reader and several (runs of 3, 3 and 3).
        let all = vec![0, 1, 2, 3, 4, 5, 6, 6, 2];
        for indexes in [vec![6, 0, 4], vec![2, 3, 4], vec![5, 1, 3, 1], all, vec![3]] {
            let (batches, memory) = reader.read(&indexes, scratch).unwrap();
            for (&index, got) in indexes.iter().zip(&batches) {
                assert_eq!(got, &batch(&schema, firsts[index], sizes[index]));
            }
            let last = batches
                .last()
                .unwrap()
                .column(0)
                .as_primitive::<Int64Type>();
            assert_eq!(last.value(0), firsts[*indexes.last().unwrap()]);
            drop(batches);
            scratch = memory
                .into_vec()
                .expect("the batches were the memory's last users");
        }
        let error = reader.read(&[7], scratch).unwrap_err().to_string();
        assert!(error.contains("has no batch 7"), "{error}");
    }

    #[test]
    fn direct_files_hold_exactly_what_was_written_when_their_memory_is_reused() {
        let dir = tempfile::tempdir().unwrap();
        // Longest first, so that later files reuse memory full of older bytes.
        let sizes = [2 * WRITE_BUFFER + 5, WRITE_BUFFER, BLOCK + 1, 3, 0];
        let mut memory = Vec::new();
        for (i, &len) in sizes.iter().enumerate() {
            let bytes: Vec<u8> = (0..len).map(|n| (n * 7 + i) as u8).collect();
            let path = dir.path().join(format!("{i}.bin"));
            let mut file = DirectWriter::create(&path, memory).unwrap();
            // Uneven pieces, as an encoder would write them.
            for piece in bytes.chunks(1000 + i) {
                file.write_all(piece).unwrap();
            }
            memory = file.finish().unwrap();
            assert_eq!(std::fs::read(&path).unwrap(), bytes, "file of {len} bytes");
        }
    }

    #[test]
    fn a_truncated_spill_file_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("spill.arrow");
        let schema = schema();
        let mut writer = SpillWriter::create(&path, &schema).unwrap();
        writer.write(&batch(&schema, 0, 1000)).unwrap();
        writer.finish().unwrap();
        for len in [0, 5, 200] {
            std::fs::OpenOptions::new()
                .write(true)
                .open(&path)
                .unwrap()
                .set_len(len)
                .unwrap();
            assert!(SpillReader::open(&path, Arc::clone(&schema)).is_err());
        }
    }
}
