//! A large source parsed on several threads, with the result a single
//! thread gives.
//!
//! The source is cut at lines that start with `fn `: no token spans such a
//! cut (the newline before it is a token of its own), and one part is
//! parsed per thread. A cut is only right if the sequential parse would
//! start an item there too, which it does exactly when the part before it
//! ended between items (its last item ended at a newline or `;`, not at
//! the end of the part: an open parenthesis or an operator at the end of a
//! line carries an item over). If a cut is wrong, the whole source is
//! parsed again on one thread. The parts' trees and diagnostics are then
//! joined in source order.

use std::thread;

use super::items::{ItemBudget, too_many_items};
use super::{ItemSink, KeepTree, Parsed, Part, parse_part};
use crate::ast::Names;

/// Sources smaller than this per thread are parsed on one thread: the
/// threads would cost more than they save.
const MIN_PART_LEN: usize = 512 << 10;

/// The most threads a parse uses.
const MAX_PARTS: usize = 8;

/// See the module documentation.
pub(super) fn parse(source: &str) -> Parsed {
    parse_into(source, &|| KeepTree).0
}

/// Like [`parse`], with each part's items handed to a sink of its own
/// (see [`super::parse_into`]).
pub(super) fn parse_into<S: ItemSink + Send>(
    source: &str,
    new_sink: &(dyn Fn() -> S + Sync),
) -> (Parsed, Vec<(S, Names)>) {
    parse_into_parts(source, wanted_parts(source), new_sink)
}

/// [`parse_into`] in up to `parts` parts.
pub(super) fn parse_into_parts<S: ItemSink + Send>(
    source: &str,
    parts: usize,
    new_sink: &(dyn Fn() -> S + Sync),
) -> (Parsed, Vec<(S, Names)>) {
    let (mut parsed, sinks) = join(parse_parts(source, parts, new_sink));
    if parsed.too_many_items {
        parsed.errors.push(too_many_items());
    }
    (parsed, sinks)
}

/// How many parts `source` is worth cutting into on this machine.
fn wanted_parts(source: &str) -> usize {
    let wanted = (source.len() / MIN_PART_LEN).min(MAX_PARTS);
    if wanted < 2 {
        // Asking for the cores reads files (cgroup limits): a one-liner is
        // spared it.
        return 1;
    }
    let threads = thread::available_parallelism().map_or(1, |n| n.get());
    wanted.min(threads)
}

/// Parses `source` on this thread.
fn parse_alone<S: ItemSink>(source: &str, sink: S) -> Part<S> {
    parse_part(source, 0, source.len(), &ItemBudget::new(), sink)
}

/// Parses `source` in up to `parts` parts, one thread each (one part if
/// `parts` is below 2, or if the cuts turn out wrong: then the whole
/// source is parsed again on one thread).
fn parse_parts<S: ItemSink + Send>(
    source: &str,
    parts: usize,
    new_sink: &(dyn Fn() -> S + Sync),
) -> Vec<Part<S>> {
    let starts = if parts < 2 { vec![0] } else { cuts(source, parts) };
    if starts.len() < 2 {
        return vec![parse_alone(source, new_sink())];
    }
    let budget = ItemBudget::new();
    let budget = &budget;
    let ends = starts[1..].iter().copied().chain([source.len()]);
    let bounds: Vec<(usize, usize)> = starts.iter().copied().zip(ends).collect();
    let parts: Vec<Part<S>> = thread::scope(|scope| {
        let others: Vec<_> = bounds[1..]
            .iter()
            .map(|&(start, end)| {
                let spawned = thread::Builder::new()
                    .name("exprjit-parse".to_owned())
                    .spawn_scoped(scope, move || {
                        parse_part(source, start, end, budget, new_sink())
                    });
                // No thread to be had: that part waits for this one.
                spawned.map_err(|_| (start, end))
            })
            .collect();
        let (start, end) = bounds[0];
        let mut parts = vec![parse_part(source, start, end, budget, new_sink())];
        for other in others {
            parts.push(match other {
                Ok(handle) => handle
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
                Err((start, end)) => parse_part(source, start, end, budget, new_sink()),
            });
        }
        parts
    });
    // Too many items is the answer however the source is cut.
    let too_many_items = parts.iter().any(|part| part.parsed.too_many_items);
    if !too_many_items
        && parts[..parts.len() - 1]
            .iter()
            .any(|part| !part.ends_between_items)
    {
        return vec![parse_alone(source, new_sink())];
    }
    parts
}

/// Where the parts start: 0, then up to `parts - 1` starts of lines that
/// begin with `fn `, near equal shares of the source.
fn cuts(source: &str, parts: usize) -> Vec<usize> {
    let bytes = source.as_bytes();
    let mut starts = vec![0];
    for index in 1..parts {
        let from = (bytes.len() / parts * index).max(starts[starts.len() - 1]);
        let Some(at) = bytes[from..].windows(4).position(|w| w == b"\nfn ") else {
            break;
        };
        let start = from + at + 1;
        if start > starts[starts.len() - 1] {
            starts.push(start);
        }
    }
    starts
}

/// The parts' results as one, in source order: their trees joined (a
/// sink that keeps none leaves only names to join, which stay with each
/// part's sink).
fn join<S: ItemSink>(parts: Vec<Part<S>>) -> (Parsed, Vec<(S, Names)>) {
    let mut joined = Parsed::default();
    let mut sinks = Vec::with_capacity(parts.len());
    for (index, part) in parts.into_iter().enumerate() {
        let mut parsed = part.parsed;
        // Every error of a later part starts after those of the earlier
        // ones: they are kept only while fewer than a hundred are.
        joined.errors.append(parsed.errors);
        joined.broken_definitions.extend(parsed.broken_definitions);
        joined.incomplete |= parsed.incomplete;
        joined.too_many_items |= parsed.too_many_items;
        if S::KEEPS_TREE {
            if index == 0 {
                joined.program = parsed.program;
            } else {
                joined.program.append(parsed.program);
            }
        } else {
            sinks.push((part.sink, std::mem::take(&mut parsed.program.names)));
        }
    }
    (joined, sinks)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Everything a caller can see of a parse.
    fn outcome(parsed: &Parsed) -> String {
        let errors: Vec<String> = parsed
            .errors
            .iter()
            .map(|error| format!("{:?} {} {:?}", error.span, error.message, error.help))
            .collect();
        format!(
            "{}\n{errors:#?}\n{:?}\n{}",
            parsed.program, parsed.broken_definitions, parsed.incomplete
        )
    }

    /// Whether the source was parsed in parts with each number of parts.
    fn agrees_with_one_thread(source: &str) -> Vec<bool> {
        let alone = join(vec![parse_alone(source, KeepTree)]).0;
        [2, 3, 7]
            .into_iter()
            .map(|parts| {
                let parts_parsed = parse_parts(source, parts, &|| KeepTree);
                let joined = parts_parsed.len() > 1;
                let parsed = join(parts_parsed).0;
                assert!(outcome(&parsed) == outcome(&alone), "{parts} parts differ");
                joined
            })
            .collect()
    }

    #[test]
    fn parts_give_what_one_thread_gives() {
        let mut source = String::new();
        for i in 0..3000 {
            source.push_str(&format!("fn f{i}(a, b) = a * {i} + f{}(b, a) - b\n", i + 1));
            match i % 97 {
                // Errors of every kind, and items that carry over a line.
                0 => source.push_str("1 +* 2\n"),
                1 => source.push_str("fn broken(x) = x <\n"),
                2 => source.push_str("fn g(x) = x +\n"),
                3 => source.push_str("(1 +\n2)\n"),
                4 => source.push_str("1 < 2 < 3\n"),
                5 => source.push_str("fn h(x, x) = y; 0x\n"),
                _ => {}
            }
        }
        source.push_str("f0(1, 2)\nfn last(x) = (x");
        assert_eq!(agrees_with_one_thread(&source), [true, true, true]);
        // Every line carries over into the next: no cut is right.
        let carried = source.replace('\n', " +\n");
        assert_eq!(agrees_with_one_thread(&carried), [false, false, false]);
        agrees_with_one_thread("");
        agrees_with_one_thread("fn f(x) = x\nfn g(y) = y\nfn h(z) = f(z)");
    }
}
