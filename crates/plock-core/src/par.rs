//! The threads the billing run and bulk usage ingestion work on. With the `rayon` feature (on
//! by default) the work is split across the current rayon pool, the caller's when called
//! inside its `install`; without it, everything runs on the calling thread through the same
//! calls, in the same order of results.

#[cfg(feature = "rayon")]
pub(crate) use rayon::{current_num_threads, in_place_scope, iter::repeat_n, join};

/// The parallel iterator and slice traits, or their one-thread stand-ins.
pub(crate) mod prelude {
    #[cfg(feature = "rayon")]
    pub(crate) use rayon::prelude::*;

    #[cfg(not(feature = "rayon"))]
    pub(crate) use super::serial::{
        IntoParallelIterator, ParallelExtend, ParallelIteratorExt, ParallelSlice,
    };
}

#[cfg(not(feature = "rayon"))]
pub(crate) use serial::{current_num_threads, in_place_scope, join, repeat_n};

/// One-thread stand-ins for the parts of rayon plock-core uses.
#[cfg(not(feature = "rayon"))]
mod serial {
    /// One thread: the caller's.
    pub(crate) fn current_num_threads() -> usize {
        1
    }

    /// Runs `a`, then `b`.
    pub(crate) fn join<A, B, RA, RB>(a: A, b: B) -> (RA, RB)
    where
        A: FnOnce() -> RA,
        B: FnOnce() -> RB,
    {
        let ra = a();
        (ra, b())
    }

    /// `value`, `n` times.
    pub(crate) fn repeat_n<T: Clone>(value: T, n: usize) -> std::iter::RepeatN<T> {
        std::iter::repeat_n(value, n)
    }

    /// A scope whose spawned work runs at once, on the calling thread.
    pub(crate) struct Scope;

    impl Scope {
        /// Runs `work` now.
        pub(crate) fn spawn<F: FnOnce(&Scope)>(&self, work: F) {
            work(self);
        }
    }

    /// Runs `body` with a [`Scope`].
    pub(crate) fn in_place_scope<R>(body: impl FnOnce(&Scope) -> R) -> R {
        body(&Scope)
    }

    /// `into_par_iter` as `into_iter`.
    pub(crate) trait IntoParallelIterator: IntoIterator + Sized {
        fn into_par_iter(self) -> Self::IntoIter {
            self.into_iter()
        }
    }

    impl<I: IntoIterator> IntoParallelIterator for I {}

    /// The slice methods of rayon, on one thread.
    pub(crate) trait ParallelSlice<T> {
        fn par_iter(&self) -> std::slice::Iter<'_, T>;
        fn par_iter_mut(&mut self) -> std::slice::IterMut<'_, T>;
        fn par_chunks(&self, size: usize) -> std::slice::Chunks<'_, T>;
        fn par_chunks_mut(&mut self, size: usize) -> std::slice::ChunksMut<'_, T>;
        fn par_windows(&self, size: usize) -> std::slice::Windows<'_, T>;
        fn par_sort_unstable(&mut self)
        where
            T: Ord;
        fn par_sort_unstable_by_key<K: Ord>(&mut self, key: impl FnMut(&T) -> K);
        fn par_sort_unstable_by(&mut self, compare: impl FnMut(&T, &T) -> std::cmp::Ordering);
    }

    impl<T> ParallelSlice<T> for [T] {
        fn par_iter(&self) -> std::slice::Iter<'_, T> {
            self.iter()
        }
        fn par_iter_mut(&mut self) -> std::slice::IterMut<'_, T> {
            self.iter_mut()
        }
        fn par_chunks(&self, size: usize) -> std::slice::Chunks<'_, T> {
            self.chunks(size)
        }
        fn par_chunks_mut(&mut self, size: usize) -> std::slice::ChunksMut<'_, T> {
            self.chunks_mut(size)
        }
        fn par_windows(&self, size: usize) -> std::slice::Windows<'_, T> {
            self.windows(size)
        }
        fn par_sort_unstable(&mut self)
        where
            T: Ord,
        {
            self.sort_unstable();
        }
        fn par_sort_unstable_by_key<K: Ord>(&mut self, key: impl FnMut(&T) -> K) {
            self.sort_unstable_by_key(key);
        }
        fn par_sort_unstable_by(&mut self, compare: impl FnMut(&T, &T) -> std::cmp::Ordering) {
            self.sort_unstable_by(compare);
        }
    }

    /// The iterator methods of rayon that std spells otherwise.
    pub(crate) trait ParallelIteratorExt: Iterator + Sized {
        fn position_first(mut self, found: impl FnMut(Self::Item) -> bool) -> Option<usize> {
            self.position(found)
        }
        fn find_first(mut self, found: impl FnMut(&Self::Item) -> bool) -> Option<Self::Item> {
            self.find(found)
        }
        fn find_map_first<R>(mut self, f: impl FnMut(Self::Item) -> Option<R>) -> Option<R> {
            self.find_map(f)
        }
        fn with_max_len(self, _len: usize) -> Self {
            self
        }
        fn flat_map_iter<U: IntoIterator>(
            self,
            f: impl FnMut(Self::Item) -> U,
        ) -> std::iter::FlatMap<Self, U, impl FnMut(Self::Item) -> U> {
            self.flat_map(f)
        }
        fn map_init<S, R>(
            self,
            init: impl FnOnce() -> S,
            mut f: impl FnMut(&mut S, Self::Item) -> R,
        ) -> impl Iterator<Item = R> {
            let mut state = init();
            self.map(move |item| f(&mut state, item))
        }
        fn for_each_init<S>(self, init: impl FnOnce() -> S, mut f: impl FnMut(&mut S, Self::Item)) {
            let mut state = init();
            self.for_each(|item| f(&mut state, item));
        }
        fn reduce_with(
            self,
            op: impl FnMut(Self::Item, Self::Item) -> Self::Item,
        ) -> Option<Self::Item> {
            self.reduce(op)
        }
    }

    impl<I: Iterator> ParallelIteratorExt for I {}

    /// `par_extend` as `extend`.
    pub(crate) trait ParallelExtend<T> {
        fn par_extend(&mut self, items: impl IntoIterator<Item = T>);
    }

    impl<T> ParallelExtend<T> for Vec<T> {
        fn par_extend(&mut self, items: impl IntoIterator<Item = T>) {
            self.extend(items);
        }
    }
}
