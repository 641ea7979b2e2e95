//! Spreading an input's work items (EVTX chunks, batches of lines or rows)
//! over the rayon pool.

use rayon::iter::{ParallelBridge, ParallelIterator};

/// Runs `work` on every item, each worker with its own state from `init`.
/// Items are pulled one at a time by free workers (`par_bridge`), so a big
/// input never has more than a few items in memory. An input of a single
/// item, the common case for small files, is processed on the calling
/// thread: handing it to the pool costs more than it saves.
pub(crate) fn for_each<I, T, S>(
    mut items: I,
    init: impl Fn() -> S + Sync + Send,
    work: impl Fn(&mut S, T) + Sync + Send,
) where
    I: Iterator<Item = T> + Send,
    T: Send,
{
    let Some(first) = items.next() else {
        return;
    };
    match items.next() {
        None => work(&mut init(), first),
        Some(second) => [first, second]
            .into_iter()
            .chain(items)
            .par_bridge()
            .for_each_init(init, work),
    }
}
