//! "Did you mean ...?": the defined name nearest to a misspelt one.
//!
//! Shared by the checker (unknown names and functions) and the library API
//! (looking a function up by name).

/// The optimal-string-alignment edit distance between `a` and `b`: the
/// number of single-character insertions, deletions, substitutions and
/// swaps of two adjacent characters that turn one into the other. A swap
/// counts once, so `fbi` is one edit away from `fib`.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // Three rows of the dynamic-programming table: two back, one back, now.
    let mut before_previous = vec![0; b.len() + 1];
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        current[0] = i;
        for j in 1..=b.len() {
            let substitution = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (previous[j] + 1)
                .min(current[j - 1] + 1)
                .min(previous[j - 1] + substitution);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(before_previous[j - 2] + 1);
            }
            current[j] = best;
        }
        std::mem::swap(&mut before_previous, &mut previous);
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

/// The candidate nearest to `name`, if one is close enough to be a likely
/// typo: at most one edit per three characters, and fewer edits than `name`
/// has characters (so `y` does not suggest `x`). Ties go to the candidate
/// that comes first in alphabetical order, so the answer does not depend on
/// the order the candidates come in.
pub fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let mut unlimited = u64::MAX;
    closest_within(name, candidates, &mut unlimited)
}

/// Names longer than this many characters get no suggestion (a generated
/// name may be megabytes long, and comparing two names costs the product
/// of their lengths).
pub const MAX_SUGGESTED_LEN: usize = 64;

/// [`closest`], spending at most `budget` (decreased by what is spent)
/// units of work: one per candidate looked at, one per pair of characters
/// compared. When the work this call needs exceeds what is left, it
/// suggests nothing; that depends only on the set of candidates, never on
/// their order. A checker reporting thousands of unknown names among
/// thousands of definitions stays fast this way.
pub fn closest_within<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
    budget: &mut u64,
) -> Option<&'a str> {
    let len = name.chars().count();
    if len > MAX_SUGGESTED_LEN {
        return None;
    }
    let limit = (len.max(3) / 3).min(len.saturating_sub(1));
    // The distance is at least the difference in length, so most
    // candidates are ruled out without computing it. (A character is at
    // most four bytes: the byte length rules out huge names cheaply.)
    let mut plausible: Vec<&str> = Vec::new();
    for candidate in candidates {
        *budget = budget.checked_sub(1)?;
        if candidate != name
            && candidate.len() <= 4 * (len + limit)
            && candidate.chars().count().abs_diff(len) <= limit
        {
            plausible.push(candidate);
        }
    }
    let cost: u64 = plausible
        .iter()
        .map(|candidate| (len * candidate.chars().count()) as u64)
        .sum();
    if cost > *budget {
        return None;
    }
    *budget -= cost;
    plausible
        .into_iter()
        .map(|candidate| (edit_distance(name, candidate), candidate))
        .filter(|&(distance, _)| distance <= limit)
        .min()
        .map(|(_, candidate)| candidate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(edit_distance("", ""), 0);
        assert_eq!(edit_distance("fib", "fib"), 0);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("fbi", "fib"), 1);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("score", "scor"), 1);
        assert_eq!(edit_distance("ca", "abc"), 3);
    }

    #[test]
    fn suggests_only_close_names() {
        let names = ["fib", "fact", "gcd"];
        assert_eq!(closest("fbi", names), Some("fib"));
        assert_eq!(closest("facts", names), Some("fact"));
        assert_eq!(closest("nope", names), None);
        assert_eq!(closest("y", ["x"]), None);
        assert_eq!(closest("fib", ["fib"]), None);
    }

    #[test]
    fn ties_are_broken_alphabetically() {
        assert_eq!(closest("ab", ["ac", "aa"]), Some("aa"));
        assert_eq!(closest("ab", ["aa", "ac"]), Some("aa"));
    }

    #[test]
    fn a_spent_budget_suggests_nothing() {
        let mut budget = 100;
        assert_eq!(closest_within("fbi", ["fib"], &mut budget), Some("fib"));
        assert_eq!(budget, 90);
        let mut budget = 9;
        assert_eq!(closest_within("fbi", ["fib"], &mut budget), None);
        assert_eq!(budget, 8);
        let mut budget = 0;
        assert_eq!(closest_within("fbi", ["fib"], &mut budget), None);
    }

    #[test]
    fn huge_names_are_not_compared() {
        let huge = "a".repeat(1 << 20);
        let near = format!("{huge}b");
        assert_eq!(closest(&huge, [near.as_str()]), None);
        assert_eq!(closest("aaaa", [huge.as_str(), "aaab"]), Some("aaab"));
    }
}
