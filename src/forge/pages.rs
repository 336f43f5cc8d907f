//! The proof that a paginated list arrived whole: pure rules over what each page said
//! (its `X-Total-Count`, how many items it held), no I/O. The client fetches the pages
//! and asks these rules about each one; a rule that fails is a protocol error, never a
//! shorter list.
//!
//! - [`Listing`]: a list whose `X-Total-Count` counts exactly the items served. The page
//!   size is learned from the first page (Gitea caps `limit` silently at `[api]
//!   MAX_RESPONSE_ITEMS`, 50 by default, possibly less); every later page must then be
//!   exactly that full, the total must not change, and the items must add up to it.
//! - [`Hidden`]: a list whose total also counts rows the server hides from this caller
//!   (pull request reviews). Every page the total implies is read at the server's own
//!   page size, plus the one after it, which must be empty.
//! - [`Timeline`]: a list with no usable total at all (the issue timeline), walked until
//!   [`TIMELINE_EMPTY_PAGES`] empty pages in a row.

/// Items asked for per page (Gitea's default `MAX_RESPONSE_ITEMS`).
pub const PAGE_LIMIT: usize = 50;

/// Most pages a list may span (100,000 items at Gitea's default cap): a bogus
/// `X-Total-Count` must not start a million requests.
pub const MAX_PAGES: usize = 2_000;

/// Empty timeline pages in a row that end the walk (see [`Timeline`]).
pub const TIMELINE_EMPTY_PAGES: usize = 2;

/// The proof for a list whose total counts exactly what is served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Listing {
    total: usize,
    per_page: usize,
    pages: usize,
}

impl Listing {
    /// Start from the first page: its `X-Total-Count` and how many items it held. Fails
    /// when the first page already cannot belong to a whole list.
    pub fn first(total: usize, first: usize) -> Result<Listing, String> {
        let per_page = page_size(first, total)?;
        let listing = Listing {
            total,
            per_page,
            pages: total.div_ceil(per_page).max(1),
        };
        listing.check_count(1, first)?;
        Ok(listing)
    }

    /// How many pages the whole list spans.
    pub fn pages(&self) -> usize {
        self.pages
    }

    /// Page `page` (2 or later) said `total` and held `got` items.
    pub fn page(&self, page: usize, total: usize, got: usize) -> Result<(), String> {
        if total != self.total {
            return Err(format!(
                "X-Total-Count changed from {} to {total} while paging",
                self.total
            ));
        }
        self.check_count(page, got)
    }

    /// All pages are in and `count` items arrived.
    pub fn finish(&self, count: usize) -> Result<(), String> {
        if count == self.total {
            Ok(())
        } else {
            Err(format!(
                "X-Total-Count says {} items, {count} arrived",
                self.total
            ))
        }
    }

    fn check_count(&self, page: usize, got: usize) -> Result<(), String> {
        let expected = expected_on(page, self.per_page, self.total);
        if got == expected {
            Ok(())
        } else {
            Err(format!(
                "page {page} has {got} items, expected {expected} of {}: the list is incomplete",
                self.total
            ))
        }
    }
}

/// How many items page `page` (from 1) of a whole list holds.
fn expected_on(page: usize, per_page: usize, total: usize) -> usize {
    total
        .saturating_sub((page - 1).saturating_mul(per_page))
        .min(per_page)
}

/// The server's page size, learned from the first page. Learning it is safe because
/// every later page must be exactly that full and the items must add up to the total: a
/// short first page can only make a later check fail.
fn page_size(first: usize, total: usize) -> Result<usize, String> {
    if first > PAGE_LIMIT {
        return Err(format!(
            "the first page has {first} items, more than the {PAGE_LIMIT} asked for"
        ));
    }
    if total <= first {
        return Ok(PAGE_LIMIT);
    }
    if first == 0 {
        return Err(format!(
            "X-Total-Count says {total} items but the first page is empty: the list is incomplete"
        ));
    }
    if total.div_ceil(first) > MAX_PAGES {
        return Err(format!(
            "X-Total-Count says {total} items, {first} per page: more than {MAX_PAGES} pages"
        ));
    }
    Ok(first)
}

/// After the first page of a list whose total counts hidden rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HiddenStart {
    /// The first page held the whole total: nothing is hidden and the list is whole.
    Whole,
    /// Short: rows are hidden or the server's page size is below ours. Only the server's
    /// own `max_response_items` tells them apart: read it, then [`Hidden::new`].
    NeedsPageSize,
}

/// The proof for a list whose total counts rows this caller is not shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hidden {
    total: usize,
    per_page: usize,
    pages: usize,
}

impl Hidden {
    /// The first page said `total` and held `first` items.
    pub fn first(total: usize, first: usize) -> Result<HiddenStart, String> {
        if first > PAGE_LIMIT || first > total {
            return Err(format!(
                "the first page has {first} items for X-Total-Count {total}"
            ));
        }
        Ok(if first == total {
            HiddenStart::Whole
        } else {
            HiddenStart::NeedsPageSize
        })
    }

    /// The walk, given the server's `max_response_items` (0 or less: our own limit).
    pub fn new(total: usize, max_response_items: i64) -> Result<Hidden, String> {
        let per_page = usize::try_from(max_response_items)
            .ok()
            .filter(|n| *n > 0)
            .map_or(PAGE_LIMIT, |n| n.min(PAGE_LIMIT));
        let pages = total.div_ceil(per_page);
        if pages > MAX_PAGES {
            return Err(format!(
                "X-Total-Count {total} at {per_page} per page: more than {MAX_PAGES} pages"
            ));
        }
        Ok(Hidden {
            total,
            per_page,
            pages,
        })
    }

    /// The pages to read after the first: every page the total implies, and one more.
    pub fn rest(&self) -> std::ops::RangeInclusive<usize> {
        2..=self.pages + 1
    }

    /// Page `page` said `total` and held `got` items.
    pub fn page(&self, page: usize, total: usize, got: usize) -> Result<(), String> {
        if total != self.total {
            Err(format!(
                "X-Total-Count changed from {} to {total} while paging",
                self.total
            ))
        } else if got > self.per_page {
            Err(format!(
                "page {page} has {got} items, more than {}",
                self.per_page
            ))
        } else if page > self.pages && got > 0 {
            Err(format!(
                "page {page} is past the {} pages X-Total-Count {} implies, yet has {got} items",
                self.pages, self.total
            ))
        } else {
            Ok(())
        }
    }

    /// All pages are in and `count` items arrived; returns how many the server hid.
    pub fn finish(&self, count: usize) -> Result<usize, String> {
        self.total
            .checked_sub(count)
            .ok_or_else(|| format!("X-Total-Count says {} items, {count} arrived", self.total))
    }
}

/// The walk over a list without a usable total: page after page until
/// [`TIMELINE_EMPTY_PAGES`] in a row come back empty, at most [`MAX_PAGES`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Timeline {
    empty_in_a_row: usize,
}

/// What to do after a timeline page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Read the next page.
    Next,
    /// The list has ended.
    Done,
}

impl Timeline {
    /// Page `page` (from 1) held `rows` rows.
    pub fn page(&mut self, page: usize, rows: usize) -> Result<Step, String> {
        if rows > PAGE_LIMIT {
            return Err(format!(
                "page {page} has {rows} rows, more than the {PAGE_LIMIT} asked for"
            ));
        }
        if rows == 0 {
            self.empty_in_a_row += 1;
            if self.empty_in_a_row >= TIMELINE_EMPTY_PAGES {
                return Ok(Step::Done);
            }
        } else {
            self.empty_in_a_row = 0;
        }
        if page >= MAX_PAGES {
            return Err(format!("the timeline did not end within {MAX_PAGES} pages"));
        }
        Ok(Step::Next)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Serve `total` items at `per_page` a page, run the proof over the pages, return the
    /// first failure or the item count.
    fn walk(total: usize, pages: &[(usize, usize)]) -> Result<usize, String> {
        let (first_total, first) = pages.first().copied().unwrap_or((total, 0));
        let listing = Listing::first(first_total, first)?;
        let mut count = first;
        for (i, (page_total, got)) in pages.iter().enumerate().skip(1) {
            if i + 1 > listing.pages() {
                break;
            }
            listing.page(i + 1, *page_total, *got)?;
            count += got;
        }
        listing.finish(count)?;
        Ok(count)
    }

    #[test]
    fn pages_must_be_full_until_the_last() {
        let listing = Listing::first(120, 50).expect("a full first page");
        assert_eq!(listing.pages(), 3);
        assert!(listing.page(2, 120, 50).is_ok());
        assert!(listing.page(3, 120, 20).is_ok());
        assert!(listing.page(3, 120, 19).is_err());
        assert!(listing.page(2, 120, 49).is_err());
        assert!(listing.page(3, 120, 21).is_err());
        assert!(Listing::first(0, 0).is_ok());
        assert!(Listing::first(0, 1).is_err(), "more items than the total");
        let small = Listing::first(120, 30).expect("a smaller server cap");
        assert_eq!(small.pages(), 4);
        assert!(small.page(4, 120, 30).is_ok());
        assert!(small.page(4, 120, 29).is_err());
        assert!(small.page(5, 120, 0).is_ok(), "past the end is empty");
        assert!(small.page(5, 120, 1).is_err());
    }

    #[test]
    fn the_total_must_not_change_and_the_count_must_add_up() {
        let listing = Listing::first(120, 50).expect("first");
        let error = listing.page(2, 121, 50).expect_err("total changed");
        assert_eq!(error, "X-Total-Count changed from 120 to 121 while paging");
        assert!(listing.finish(120).is_ok());
        assert_eq!(
            listing.finish(119).expect_err("short"),
            "X-Total-Count says 120 items, 119 arrived"
        );
        assert!(listing.finish(121).is_err());
    }

    #[test]
    fn page_size_is_learned_from_the_first_page() {
        assert_eq!(Listing::first(120, 50).expect("default").per_page, 50);
        assert_eq!(Listing::first(120, 30).expect("smaller cap").per_page, 30);
        assert_eq!(Listing::first(7, 7).expect("one page").per_page, PAGE_LIMIT);
        assert_eq!(Listing::first(7, 7).expect("one page").pages(), 1);
        assert_eq!(Listing::first(0, 0).expect("empty").pages(), 1);
        assert_eq!(
            Listing::first(3000, 0).expect_err("empty first page of a long list"),
            "X-Total-Count says 3000 items but the first page is empty: the list is incomplete"
        );
        assert!(Listing::first(120, 51).is_err(), "more than asked for");
        assert!(
            Listing::first(51, 51).is_err(),
            "more than asked for, even if all"
        );
        assert!(Listing::first(1_000_000, 1).is_err(), "too many pages");
        // Exactly MAX_PAGES pages is allowed; one more item is not.
        assert!(Listing::first(MAX_PAGES, 1).is_ok());
        assert!(Listing::first(MAX_PAGES + 1, 1).is_err());
        assert!(Listing::first(MAX_PAGES * 50, 50).is_ok());
    }

    #[test]
    fn expected_on_each_page() {
        assert_eq!(expected_on(1, 50, 120), 50);
        assert_eq!(expected_on(3, 50, 120), 20);
        assert_eq!(expected_on(4, 50, 120), 0);
        assert_eq!(expected_on(usize::MAX, 50, 120), 0, "no overflow");
    }

    #[test]
    fn a_list_with_hidden_rows() {
        assert_eq!(Hidden::first(3, 3), Ok(HiddenStart::Whole));
        assert_eq!(Hidden::first(0, 0), Ok(HiddenStart::Whole));
        assert_eq!(Hidden::first(60, 48), Ok(HiddenStart::NeedsPageSize));
        assert!(Hidden::first(3, 4).is_err(), "more than the total");
        assert!(Hidden::first(100, 51).is_err(), "more than asked for");
        assert!(
            Hidden::first(51, 51).is_err(),
            "more than asked for, even if all"
        );

        let walk = Hidden::new(60, 50).expect("two pages");
        assert_eq!(walk.rest(), 2..=3);
        assert!(walk.page(2, 60, 10).is_ok());
        assert!(walk.page(2, 60, 50).is_ok());
        assert!(walk.page(2, 60, 51).is_err());
        assert!(walk.page(2, 61, 1).is_err(), "total changed");
        assert!(walk.page(3, 60, 0).is_ok());
        assert_eq!(
            walk.page(3, 60, 1).expect_err("past the end"),
            "page 3 is past the 2 pages X-Total-Count 60 implies, yet has 1 items"
        );
        assert_eq!(walk.finish(58), Ok(2));
        assert_eq!(walk.finish(60), Ok(0));
        assert!(walk.finish(61).is_err());

        // The server's own page size, capped at ours; nonsense means ours.
        assert_eq!(Hidden::new(60, 20).expect("3 pages").rest(), 2..=4);
        assert_eq!(Hidden::new(60, 0).expect("ours").rest(), 2..=3);
        assert_eq!(Hidden::new(60, -5).expect("ours").rest(), 2..=3);
        assert_eq!(Hidden::new(60, 500).expect("capped").rest(), 2..=3);
        assert!(Hidden::new(20, 10)
            .expect("2 pages")
            .page(2, 20, 11)
            .is_err());
        assert!(Hidden::new(MAX_PAGES, 1).is_ok());
        assert!(Hidden::new(MAX_PAGES + 1, 1).is_err());
    }

    #[test]
    fn a_timeline_ends_after_two_empty_pages_in_a_row() {
        let mut walk = Timeline::default();
        assert_eq!(walk.page(1, 50), Ok(Step::Next));
        assert_eq!(
            walk.page(2, 0),
            Ok(Step::Next),
            "one empty page is not the end"
        );
        assert_eq!(
            walk.page(3, 3),
            Ok(Step::Next),
            "rows again: the count restarts"
        );
        assert_eq!(walk.page(4, 0), Ok(Step::Next));
        assert_eq!(walk.page(5, 0), Ok(Step::Done));
        assert!(Timeline::default().page(1, 51).is_err());
        let mut endless = Timeline::default();
        for page in 1..MAX_PAGES {
            assert_eq!(endless.page(page, 1), Ok(Step::Next));
        }
        assert_eq!(
            endless.page(MAX_PAGES, 1).expect_err("never ends"),
            format!("the timeline did not end within {MAX_PAGES} pages")
        );
        // Ending on the last allowed page is an end, not an error.
        let mut last = Timeline::default();
        for page in 1..MAX_PAGES - 1 {
            assert_eq!(last.page(page, 1), Ok(Step::Next));
        }
        assert_eq!(last.page(MAX_PAGES - 1, 0), Ok(Step::Next));
        assert_eq!(last.page(MAX_PAGES, 0), Ok(Step::Done));
    }

    /// What a whole list looks like from outside: some server page cap `p` (1 to our
    /// limit) for which the first pages the total implies are exactly full, all under the
    /// first page's total. Pages past that are never read.
    fn whole_at_some_cap(pages: &[(usize, usize)]) -> bool {
        let Some(&(total, _)) = pages.first() else {
            return false;
        };
        (1..=PAGE_LIMIT).any(|cap| {
            let n = total.div_ceil(cap).max(1);
            pages.len() >= n
                && (1..=n).all(|page| pages[page - 1] == (total, expected_on(page, cap, total)))
        })
    }

    proptest! {
        /// A whole list served at any page size the server may cap at is accepted with
        /// every item. With any one page shortened, lengthened or given another total, the
        /// proof accepts exactly when the pages still form a whole list at some cap (a
        /// longer first page can be a larger cap), and refuses every other.
        #[test]
        fn whole_lists_pass_and_any_damaged_page_fails(
            total in 0usize..400,
            per_page in 1usize..=50,
            damage in 0usize..20,
            kind in 0u8..3,
        ) {
            let count = |page: usize| expected_on(page, per_page, total);
            let pages = total.div_ceil(per_page).max(1);
            let served: Vec<(usize, usize)> = (1..=pages).map(|p| (total, count(p))).collect();
            prop_assert!(whole_at_some_cap(&served));
            prop_assert_eq!(walk(total, &served), Ok(total));
            let page = damage % pages;
            let mut damaged = served.clone();
            match kind {
                0 if damaged[page].1 > 0 => damaged[page].1 -= 1,
                1 => damaged[page].1 += 1,
                2 => damaged[page].0 += 1,
                _ => return Ok(()),
            }
            let result = walk(total, &damaged);
            prop_assert_eq!(
                result.is_ok(),
                whole_at_some_cap(&damaged),
                "{:?}: {:?}",
                damaged,
                result
            );
        }
    }
}
