//! The limit on the number of items (definitions and top-level
//! expressions) in one source, shared by the threads that parse its parts.
//!
//! Every item costs a few hundred bytes in the later stages (a top-level
//! expression becomes a function of its own) however short it is, so the
//! shortest items, `1` or `x` on every line, cost the most per source
//! byte: at the source size limit, 50 million of them would need some
//! 20 GB. The limit bounds that cost by the number of items instead.

use std::sync::atomic::{AtomicUsize, Ordering};

use crate::ast::Span;
use crate::diag::{Diagnostic, ErrorCode};

/// Most items accepted in one source: four times those of a
/// million-function program.
pub const MAX_ITEMS: usize = 4_000_000;

/// How many items each part claims from the shared budget at a time, so
/// that the threads rarely touch the shared counter.
const CLAIM: usize = 4096;

/// The items still to be had by the parts of one parse.
#[derive(Debug)]
pub(super) struct ItemBudget {
    left: AtomicUsize,
}

impl ItemBudget {
    pub(super) fn new() -> ItemBudget {
        ItemBudget {
            left: AtomicUsize::new(MAX_ITEMS),
        }
    }
}

/// One part's share of an [`ItemBudget`], claimed as it goes.
pub(super) struct ItemAllowance<'a> {
    budget: &'a ItemBudget,
    claimed: usize,
}

impl<'a> ItemAllowance<'a> {
    pub(super) fn new(budget: &'a ItemBudget) -> ItemAllowance<'a> {
        ItemAllowance { budget, claimed: 0 }
    }

    /// Takes one item from the allowance; false once the whole source's
    /// budget is spent.
    pub(super) fn take(&mut self) -> bool {
        if self.claimed == 0 {
            let claim = |left: usize| (left > 0).then(|| left - left.min(CLAIM));
            match self
                .budget
                .left
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, claim)
            {
                Ok(left) => self.claimed = left.min(CLAIM),
                Err(_) => return false,
            }
        }
        self.claimed -= 1;
        true
    }
}

/// The error for a source of more than [`MAX_ITEMS`] items. (Reported at
/// the start of the source, as a source over the size limit is: which item
/// is the first too many is known only once all parts are parsed.)
pub(super) fn too_many_items() -> Diagnostic {
    Diagnostic::new(
        ErrorCode::TooManyItems,
        format!(
            "too many items: a program may have at most {MAX_ITEMS} definitions and \
             top-level expressions"
        ),
        Span::new(0, 0),
    )
    .with_help("split the program into smaller ones")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_share_the_budget_to_the_last_item() {
        let budget = ItemBudget::new();
        let mut first = ItemAllowance::new(&budget);
        let mut second = ItemAllowance::new(&budget);
        let mut taken = 0;
        while first.take() {
            taken += 1;
            if second.take() {
                taken += 1;
            }
        }
        while second.take() {
            taken += 1;
        }
        assert_eq!(taken, MAX_ITEMS);
    }
}
