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
    let len = name.chars().count();
    let limit = (len.max(3) / 3).min(len.saturating_sub(1));
    candidates
        .into_iter()
        .filter(|candidate| *candidate != name)
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
}
