//! Plain files read in place through a read-only memory map.
//!
//! A big JSON-lines file or JSON document is otherwise copied twice before
//! it is parsed: by the kernel out of the page cache into a read buffer,
//! then into a batch of whole lines (or a document buffer that grows by
//! reallocation). Mapped, the workers parse the page cache's own pages.
//!
//! The one risk is the one every tool that maps files takes (ripgrep maps
//! by default): if another process truncates the file while it is read,
//! touching the lost pages kills the process with SIGBUS. Evidence files
//! are not written during a hunt; `--no-mmap` reads them instead.

use std::fs::File;
use std::ops::Range;

use memmap2::{Advice, Mmap, UncheckedAdvice};

/// Files smaller than this are read: mapping costs system calls and page
/// table set-up that a single read of a small file does not.
const MIN_MAPPED_BYTES: u64 = 4 << 20;

/// Pages are released in units of this size, a multiple of every page size
/// in use (4, 16 and 64 KiB), so that the ranges are page-aligned.
const RELEASE_ALIGN: usize = 64 << 10;

/// A mapped file, read from `start` on (after a byte order mark).
pub(crate) struct Mapped {
    map: Mmap,
    start: usize,
}

impl Mapped {
    /// Maps `file`, whose content starts `start` bytes in, when it is big
    /// enough to gain from it; `None` otherwise or when mapping fails (the
    /// caller reads the file instead).
    pub(crate) fn open(file: &File, start: usize) -> Option<Mapped> {
        let meta = file.metadata().ok()?;
        if !meta.is_file() || meta.len() < MIN_MAPPED_BYTES {
            return None;
        }
        // SAFETY: the map is read-only and only ever seen as `&[u8]`. Its
        // content can change only if another process writes the file
        // during the hunt, which the module documentation accepts (and
        // `--no-mmap` avoids): evidence is not modified while it is read.
        let map = unsafe { Mmap::map(file) }.ok()?;
        // Read-ahead in big steps; a hint, so a refusal changes nothing.
        let _ = map.advise(Advice::Sequential);
        Some(Mapped { map, start })
    }

    /// The content: the file from `start` on.
    pub(crate) fn data(&self) -> &[u8] {
        self.map.get(self.start..).unwrap_or(&[])
    }

    /// The file's size, for progress (which counts the whole file).
    pub(crate) fn file_len(&self) -> u64 {
        self.map.len() as u64
    }

    /// Tells the kernel this process is done with the pages of `range` (of
    /// [`Mapped::data`]), so
    /// that they stop counting in its resident memory (they stay in the
    /// page cache). Without it a hunt over a 2 GB file would end with 2 GB
    /// resident. Both ends are rounded down: the page `range` ends in is
    /// released with the next range, and the one it starts in may still be
    /// read by the previous range's worker, which then maps it again.
    pub(crate) fn release(&self, range: Range<usize>) {
        let (start, end) = (self.start + range.start, self.start + range.end);
        let start = start / RELEASE_ALIGN * RELEASE_ALIGN;
        let end = end.min(self.map.len()) / RELEASE_ALIGN * RELEASE_ALIGN;
        if start < end {
            // SAFETY: on a shared read-only file mapping, MADV_DONTNEED only
            // unmaps the pages: touching them again (a neighbouring batch
            // reading across the boundary) reads the same bytes from the
            // page cache. It zeroes only anonymous or private written pages,
            // which this map has none of.
            let _ = unsafe {
                self.map
                    .unchecked_advise_range(UncheckedAdvice::DontNeed, start, end - start)
            };
        }
    }
}
