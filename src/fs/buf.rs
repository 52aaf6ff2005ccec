//! [`Buf`]: the buffer a [`File`](super::File) (or a stdio handle) lends to the
//! blocking pool for one read or write, and gets back.
//!
//! Invariants: `pos <= end <= data.len()`; `data[pos..end]` holds bytes read from
//! the OS and not yet handed to the caller (or, for a write, bytes not yet written).
//! `data` is only ever grown (with zeros, once), never shrunk, so a steady stream of
//! reads of one size costs no allocation and no zeroing after the first.

use std::io::{self, Read, Write};

/// The largest buffer one blocking-pool trip reads or writes: 2 MiB, as tokio's.
pub(crate) const MAX_BUF: usize = 2 * 1024 * 1024;

/// A reusable byte buffer with a read cursor.
#[derive(Debug, Default)]
pub(crate) struct Buf {
    data: Vec<u8>,
    pos: usize,
    end: usize,
}

impl Buf {
    /// An empty buffer that owns no memory yet.
    pub(crate) fn new() -> Buf {
        Buf::default()
    }

    /// Bytes held and not yet consumed.
    pub(crate) fn len(&self) -> usize {
        self.end - self.pos
    }

    /// Whether no bytes are held.
    pub(crate) fn is_empty(&self) -> bool {
        self.pos == self.end
    }

    /// Moves as many held bytes as fit into `dst`; returns how many.
    pub(crate) fn copy_to(&mut self, dst: &mut [u8]) -> usize {
        let n = self.len().min(dst.len());
        dst[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        if self.pos == self.end {
            self.pos = 0;
            self.end = 0;
        }
        n
    }

    /// Copies at most `max` bytes of `src` in (the buffer must be empty); returns
    /// how many.
    pub(crate) fn copy_from(&mut self, src: &[u8], max: usize) -> usize {
        assert!(
            self.is_empty(),
            "Buf::copy_from on a buffer that holds data"
        );
        let n = src.len().min(max);
        self.grow(n);
        self.data[..n].copy_from_slice(&src[..n]);
        self.pos = 0;
        self.end = n;
        n
    }

    /// Drops the held bytes; returns minus their count, the offset that moves a
    /// file's position back to where the caller's reads stand.
    pub(crate) fn discard_read(&mut self) -> i64 {
        let back = -(self.len() as i64);
        self.pos = 0;
        self.end = 0;
        back
    }

    /// One `read` of at most `max` bytes from `rd` into the (empty) buffer,
    /// retried on `Interrupted`. Runs on the blocking pool.
    pub(crate) fn read_from<R: Read>(&mut self, rd: &mut R, max: usize) -> io::Result<usize> {
        assert!(
            self.is_empty(),
            "Buf::read_from on a buffer that holds data"
        );
        self.grow(max);
        let res = loop {
            match rd.read(&mut self.data[..max]) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                res => break res,
            }
        };
        let n = *res.as_ref().unwrap_or(&0);
        assert!(n <= max, "Read::read reported more bytes than it was lent");
        self.pos = 0;
        self.end = n;
        res
    }

    /// Writes every held byte to `wr` and empties the buffer (also on error: a
    /// failed write's bytes are dropped, as tokio does). Runs on the blocking pool.
    pub(crate) fn write_to<W: Write>(&mut self, wr: &mut W) -> io::Result<()> {
        let res = wr.write_all(&self.data[self.pos..self.end]);
        self.pos = 0;
        self.end = 0;
        res
    }

    fn grow(&mut self, len: usize) {
        if self.data.len() < len {
            self.data.resize(len, 0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_in_and_out_keeps_order() {
        let mut b = Buf::new();
        assert_eq!(b.copy_from(b"hello world", 5), 5);
        let mut out = [0; 3];
        assert_eq!(b.copy_to(&mut out), 3);
        assert_eq!(&out, b"hel");
        assert_eq!(b.len(), 2);
        assert_eq!(b.discard_read(), -2);
        assert!(b.is_empty());
    }

    #[test]
    fn read_from_reads_at_most_max() {
        let mut b = Buf::new();
        let mut src: &[u8] = b"abcdefgh";
        assert_eq!(b.read_from(&mut src, 3).unwrap(), 3);
        let mut out = [0; 8];
        assert_eq!(b.copy_to(&mut out), 3);
        assert_eq!(&out[..3], b"abc");
        assert!(b.is_empty());
        let mut sink = Vec::new();
        b.copy_from(b"xyz", MAX_BUF);
        b.write_to(&mut sink).unwrap();
        assert_eq!(sink, b"xyz");
        assert!(b.is_empty());
    }
}
