//! Merge bases over a history that may be cut short (a shallow fetch).
//!
//! The walk is git's `paint_down_to_common`: commits are visited newest first, painted with
//! the side(s) they are reachable from, and a commit reachable from both sides is a merge
//! base candidate whose ancestors become *stale*. It stops once every queued commit is stale.
//!
//! Unlike gix's `merge_base` (which silently skips parents it cannot find), this walk knows
//! which commits sit on the shallow boundary. If it has to look past one whose paint is
//! not stale, the answer could depend on history that was not fetched, and it says so
//! ([`Bases::NeedsHistory`]) instead of guessing; the caller deepens the fetch and asks
//! again. Commits past a *stale* boundary only lead to ancestors of a base already found,
//! so they cannot change the answer.
//!
//! Pure: the history is behind the [`History`] trait, so the tests run on plain maps.

use std::{
    collections::{BinaryHeap, HashMap},
    hash::Hash,
};

/// What the walk needs to know about one commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commit<Id> {
    pub parents: Vec<Id>,
    /// Committer time, seconds since the epoch: the visiting order.
    pub time: i64,
    /// True when the commit is on the shallow boundary: its parents are not available.
    pub shallow: bool,
}

/// Read access to commits.
pub trait History {
    type Id: Copy + Eq + Hash + Ord + std::fmt::Debug;
    type Error;
    /// The commit `id`. A commit that should be present but is not is an error.
    fn commit(&mut self, id: Self::Id) -> Result<Commit<Self::Id>, Self::Error>;
}

/// The answer of [`merge_bases`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bases<Id> {
    /// The best common ancestors, newest first; empty when the histories are unrelated.
    Found(Vec<Id>),
    /// The answer depends on commits behind the shallow boundary: fetch more history.
    NeedsHistory,
}

const SIDE1: u8 = 1;
const SIDE2: u8 = 2;
const STALE: u8 = 4;
const RESULT: u8 = 8;

/// The best common ancestors of `one` and `two` (git's `merge-base --all`).
pub fn merge_bases<H: History>(
    history: &mut H,
    one: H::Id,
    two: H::Id,
) -> Result<Bases<H::Id>, H::Error> {
    if one == two {
        return Ok(Bases::Found(vec![one]));
    }
    let candidates = match paint(history, one, two)? {
        Some(candidates) => candidates,
        None => return Ok(Bases::NeedsHistory),
    };
    if candidates.len() < 2 {
        return Ok(Bases::Found(candidates));
    }
    // Remove candidates that are ancestors of other candidates.
    let mut redundant = vec![false; candidates.len()];
    for i in 0..candidates.len() {
        for j in 0..candidates.len() {
            if i == j || redundant[i] || redundant[j] {
                continue;
            }
            match is_ancestor(history, candidates[i], candidates[j])? {
                Some(true) => redundant[i] = true,
                Some(false) => {}
                None => return Ok(Bases::NeedsHistory),
            }
        }
    }
    Ok(Bases::Found(
        candidates
            .into_iter()
            .zip(redundant)
            .filter_map(|(id, redundant)| (!redundant).then_some(id))
            .collect(),
    ))
}

/// Whether `ancestor` is reachable from `descendant` (`None`: needs more history).
pub fn is_ancestor<H: History>(
    history: &mut H,
    ancestor: H::Id,
    descendant: H::Id,
) -> Result<Option<bool>, H::Error> {
    if ancestor == descendant {
        return Ok(Some(true));
    }
    Ok(paint(history, ancestor, descendant)?.map(|bases| bases.contains(&ancestor)))
}

/// The painting walk; `None` when it would have to look behind a non-stale boundary commit.
/// Returns the candidates that did not become stale, newest first.
fn paint<H: History>(
    history: &mut H,
    one: H::Id,
    two: H::Id,
) -> Result<Option<Vec<H::Id>>, H::Error> {
    let mut flags: HashMap<H::Id, u8> = HashMap::new();
    let mut cache: HashMap<H::Id, Commit<H::Id>> = HashMap::new();
    let mut queue: BinaryHeap<(i64, H::Id)> = BinaryHeap::new();
    let mut results = Vec::new();

    for (id, side) in [(one, SIDE1), (two, SIDE2)] {
        let commit = load(history, &mut cache, id)?;
        *flags.entry(id).or_default() |= side;
        queue.push((commit.time, id));
    }

    while queue
        .iter()
        .any(|(_, id)| flags.get(id).copied().unwrap_or_default() & STALE == 0)
    {
        let Some((_, id)) = queue.pop() else { break };
        let mut paint = flags.get(&id).copied().unwrap_or_default() & (SIDE1 | SIDE2 | STALE);
        if paint & (SIDE1 | SIDE2) == (SIDE1 | SIDE2) {
            let entry = flags.entry(id).or_default();
            if *entry & RESULT == 0 {
                *entry |= RESULT;
                results.push(id);
            }
            paint |= STALE;
        }
        let commit = load(history, &mut cache, id)?.clone();
        if commit.shallow {
            if paint & STALE == 0 {
                return Ok(None);
            }
            continue;
        }
        for parent in commit.parents {
            let entry = flags.entry(parent).or_default();
            if *entry & paint == paint {
                continue;
            }
            *entry |= paint;
            let time = load(history, &mut cache, parent)?.time;
            queue.push((time, parent));
        }
    }

    Ok(Some(
        results
            .into_iter()
            .filter(|id| flags.get(id).copied().unwrap_or_default() & STALE == 0)
            .collect(),
    ))
}

fn load<'a, H: History>(
    history: &mut H,
    cache: &'a mut HashMap<H::Id, Commit<H::Id>>,
    id: H::Id,
) -> Result<&'a Commit<H::Id>, H::Error> {
    match cache.entry(id) {
        std::collections::hash_map::Entry::Occupied(entry) => Ok(entry.into_mut()),
        std::collections::hash_map::Entry::Vacant(entry) => Ok(entry.insert(history.commit(id)?)),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeSet, HashSet};

    use proptest::prelude::*;

    use super::*;

    /// A history in a map: id → (parents, time); `shallow` marks the boundary.
    #[derive(Debug, Clone, Default)]
    struct Map {
        commits: HashMap<u32, (Vec<u32>, i64)>,
        shallow: HashSet<u32>,
        lookups: usize,
    }

    impl History for Map {
        type Id = u32;
        type Error = String;
        fn commit(&mut self, id: u32) -> Result<Commit<u32>, String> {
            self.lookups += 1;
            let (parents, time) = self
                .commits
                .get(&id)
                .cloned()
                .ok_or_else(|| format!("commit {id} is missing"))?;
            Ok(Commit {
                parents,
                time,
                shallow: self.shallow.contains(&id),
            })
        }
    }

    /// Build from `(id, parents)`; the time is the id (parents are always older).
    fn map(edges: &[(u32, &[u32])]) -> Map {
        let mut m = Map::default();
        for (id, parents) in edges {
            m.commits.insert(*id, (parents.to_vec(), i64::from(*id)));
        }
        m
    }

    fn found(ids: &[u32]) -> Bases<u32> {
        Bases::Found(ids.to_vec())
    }

    #[test]
    fn table() {
        //   1 - 2 - 3 - 4        main
        //        \
        //         5 - 6          staging
        let linear = map(&[
            (1, &[]),
            (2, &[1]),
            (3, &[2]),
            (4, &[3]),
            (5, &[2]),
            (6, &[5]),
        ]);
        // criss-cross: 3 and 4 both merge 1 and 2.
        let criss = map(&[
            (1, &[]),
            (2, &[]),
            (3, &[1, 2]),
            (4, &[2, 1]),
            (5, &[3]),
            (6, &[4]),
        ]);
        let unrelated = map(&[(1, &[]), (2, &[])]);
        let cases: &[(&str, &Map, u32, u32, Bases<u32>)] = &[
            ("same commit", &linear, 4, 4, found(&[4])),
            ("diverged", &linear, 4, 6, found(&[2])),
            ("ancestor", &linear, 2, 4, found(&[2])),
            ("descendant", &linear, 4, 2, found(&[2])),
            ("criss-cross", &criss, 5, 6, found(&[2, 1])),
            ("unrelated", &unrelated, 1, 2, found(&[])),
        ];
        for (name, history, a, b, expected) in cases {
            let mut history = (*history).clone();
            let mut got = merge_bases(&mut history, *a, *b).expect("walk");
            if let Bases::Found(ids) = &mut got {
                ids.sort_unstable_by(|x, y| y.cmp(x));
            }
            assert_eq!(&got, expected, "{name}");
        }
    }

    /// A skewed clock (a child older than its parent) can make the walk report an
    /// ancestor of another base as a base too: the redundant one must go, as in git.
    #[test]
    fn a_base_that_is_an_ancestor_of_another_base_is_dropped() {
        // 1 (t=5) <- 2 (t=0) <- 3 (t=1): a clock that went backwards. 4 and 5 both have
        // parents 3 and 1, so 3 is the one merge base; the walk meets 1 first (newer) and
        // stops before the staleness from 3 comes down to it.
        let mut history = Map::default();
        for (id, parents, time) in [
            (1, vec![], 5),
            (2, vec![1], 0),
            (3, vec![2], 1),
            (4, vec![3, 1], 10),
            (5, vec![3, 1], 9),
        ] {
            history.commits.insert(id, (parents, time));
        }
        assert_eq!(
            paint(&mut history, 4, 5).expect("walk"),
            Some(vec![1, 3]),
            "the walk itself finds both"
        );
        assert_eq!(merge_bases(&mut history, 4, 5).expect("walk"), found(&[3]));
    }

    #[test]
    fn boundary_before_the_base_needs_history() {
        let mut history = map(&[
            (1, &[]),
            (2, &[1]),
            (3, &[2]),
            (4, &[3]),
            (5, &[2]),
            (6, &[5]),
        ]);
        history.shallow = [3, 5].into_iter().collect();
        assert_eq!(
            merge_bases(&mut history, 4, 6).expect("walk"),
            Bases::NeedsHistory
        );
        history.shallow = [2].into_iter().collect();
        assert_eq!(merge_bases(&mut history, 4, 6).expect("walk"), found(&[2]));
    }

    #[test]
    fn stale_boundary_does_not_need_history() {
        // 2 is the base; 1 (behind it) is the boundary: its parents do not matter.
        let mut history = map(&[(1, &[0]), (2, &[1]), (3, &[2]), (4, &[2])]);
        history.shallow = [1].into_iter().collect();
        assert_eq!(merge_bases(&mut history, 3, 4).expect("walk"), found(&[2]));
    }

    #[test]
    fn walk_stops_near_the_tips() {
        // A long shared history below the base is never read.
        let mut edges: Vec<(u32, Vec<u32>)> = (1..1000).map(|i| (i, vec![i - 1])).collect();
        edges.push((0, vec![]));
        edges.push((1000, vec![999]));
        edges.push((1001, vec![999]));
        let mut history = Map::default();
        for (id, parents) in edges {
            history.commits.insert(id, (parents, i64::from(id)));
        }
        assert_eq!(
            merge_bases(&mut history, 1000, 1001).expect("walk"),
            found(&[999])
        );
        assert!(history.lookups < 20, "{} lookups", history.lookups);
    }

    #[test]
    fn missing_commit_is_an_error() {
        let mut history = map(&[(2, &[1]), (3, &[1])]);
        assert!(merge_bases(&mut history, 2, 3).is_err());
    }

    /// All ancestors (inclusive) in the full graph.
    fn ancestors(commits: &HashMap<u32, (Vec<u32>, i64)>, tip: u32) -> BTreeSet<u32> {
        let mut seen = BTreeSet::new();
        let mut stack = vec![tip];
        while let Some(id) = stack.pop() {
            if seen.insert(id) {
                stack.extend(commits[&id].0.iter().copied());
            }
        }
        seen
    }

    /// The true best common ancestors, by brute force.
    fn oracle(commits: &HashMap<u32, (Vec<u32>, i64)>, a: u32, b: u32) -> BTreeSet<u32> {
        let common: BTreeSet<u32> = ancestors(commits, a)
            .intersection(&ancestors(commits, b))
            .copied()
            .collect();
        common
            .iter()
            .copied()
            .filter(|&c| {
                !common
                    .iter()
                    .any(|&d| d != c && ancestors(commits, d).contains(&c))
            })
            .collect()
    }

    /// A random DAG: commit i has 0–2 parents among earlier commits (time = id).
    fn dag() -> impl Strategy<Value = (Vec<Vec<u32>>, u32, u32, Vec<bool>)> {
        (2usize..40).prop_flat_map(|n| {
            let parents = (0..n)
                .map(|i| {
                    if i == 0 {
                        Just(vec![]).boxed()
                    } else {
                        let earlier = 0..u32::try_from(i).expect("small");
                        prop::collection::vec(earlier, 0..=2)
                            .prop_map(|mut v| {
                                v.dedup();
                                v
                            })
                            .boxed()
                    }
                })
                .collect::<Vec<_>>();
            let n32 = u32::try_from(n).expect("small");
            (
                parents,
                0..n32,
                0..n32,
                prop::collection::vec(prop::bool::weighted(0.15), n),
            )
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(600))]

        /// With any shallow cut, the walk either asks for more history or gives exactly
        /// the bases of the full graph.
        #[test]
        fn exact_or_needs_history((parents, a, b, cut) in dag()) {
            let commits: HashMap<u32, (Vec<u32>, i64)> = parents
                .iter()
                .enumerate()
                .map(|(i, p)| (u32::try_from(i).expect("small"), (p.clone(), i64::try_from(i).expect("small"))))
                .collect();
            let truth = oracle(&commits, a, b);

            let mut full = Map { commits: commits.clone(), ..Map::default() };
            let got = merge_bases(&mut full, a, b).expect("full walk");
            prop_assert_eq!(got.clone_sorted(), Bases::Found(truth.iter().rev().copied().collect::<Vec<_>>()));

            // Cut: the local graph is what is reachable from the tips without crossing a
            // shallow commit's parents.
            let shallow: HashSet<u32> = cut.iter().enumerate().filter(|(_, s)| **s).map(|(i, _)| u32::try_from(i).expect("small")).collect();
            let mut local = HashMap::new();
            let mut stack = vec![a, b];
            while let Some(id) = stack.pop() {
                if local.contains_key(&id) { continue; }
                let entry = commits[&id].clone();
                if !shallow.contains(&id) { stack.extend(entry.0.iter().copied()); }
                local.insert(id, entry);
            }
            let mut cut_history = Map { commits: local, shallow, ..Map::default() };
            match merge_bases(&mut cut_history, a, b).expect("cut walk never reads missing commits") {
                Bases::NeedsHistory => {}
                Bases::Found(mut ids) => {
                    ids.sort_unstable();
                    prop_assert_eq!(ids, truth.iter().copied().collect::<Vec<_>>());
                }
            }
        }
    }

    impl Bases<u32> {
        fn clone_sorted(&self) -> Bases<u32> {
            match self {
                Bases::Found(ids) => {
                    let mut ids = ids.clone();
                    ids.sort_unstable_by(|x, y| y.cmp(x));
                    Bases::Found(ids)
                }
                Bases::NeedsHistory => Bases::NeedsHistory,
            }
        }
    }
}
