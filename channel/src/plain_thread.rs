//! Blocking use from plain threads, so sync and async code can share a channel: the
//! receiving iterator. The blocking calls park on `gorun_coop::block_on`.

use crate::handle::Receiver;

/// Blocking iterator returned by [`Receiver::iter`]: yields values until the
/// channel is closed and drained.
#[derive(Debug)]
pub struct Iter<'a, T> {
    pub(crate) rx: &'a Receiver<T>,
}

impl<T> Iterator for Iter<'_, T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        self.rx.blocking_recv()
    }
}

impl<'a, T> IntoIterator for &'a Receiver<T> {
    type Item = T;
    type IntoIter = Iter<'a, T>;

    fn into_iter(self) -> Iter<'a, T> {
        self.iter()
    }
}
