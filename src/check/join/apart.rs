//! The definitions' calls resolved on one thread per part, where that
//! changes nothing the join would see.
//!
//! Resolving the calls of 100,000 definitions is mostly cache misses (each
//! call patches a node of its own body, and bodies lie all over the heap),
//! and it was the longest stretch of compiling on one thread. Once every
//! definition is declared, a call to a function defined in the program
//! with the right number of arguments resolves without touching the
//! join's state: no name to intern (a lookup finds it), no external to
//! declare, no error. Each part's calls are resolved so, in parallel, into
//! the part's own functions (which are linked to their numbers in the same
//! pass, the one touch of each function the join makes). If every call of every part is of that kind,
//! the join's replay of the definitions' events would have done only
//! these same patches, and it is skipped; otherwise (an unknown name, a
//! wrong arity, a function of an earlier REPL entry, a forward reference)
//! it runs as before, in order, and patches every call again, so errors
//! and the functions a REPL declares stay exactly one thread's.

use super::{Defined, Join, NO_SYMBOL, Signature, find};
use crate::ast::{Names, Symbol};
use crate::check::item::{CheckedPart, Event};
use crate::ir::{self, FuncId, GlobalId};

/// What of the join's state the parts' threads read (the join as a whole
/// is not shared: its environment need not be `Sync`).
struct Lookup<'j, 'a> {
    symbols: &'j hashbrown::HashTable<Symbol>,
    names: &'j [&'a str],
    signatures: &'j [Option<Signature>],
    part_symbols: &'j [Vec<Symbol>],
}

/// Links every part's definitions' functions and resolves their calls
/// (part `i` with names `names[i]`; `locals[i][d]` is definition `d`'s
/// function in the program, `None` for a duplicate, which is neither
/// linked nor patched; `ids[f]` is function `f`'s number). True if every
/// call was resolved: then nothing is left for the join's replay.
pub(super) fn link_and_resolve(
    join: &Join<'_>,
    parts: &mut [CheckedPart],
    names: &[&Names],
    locals: &[Vec<Option<FuncId>>],
    ids: &[GlobalId],
) -> bool {
    #[cfg(test)]
    let replay = REPLAY_ALWAYS.get();
    #[cfg(not(test))]
    let replay = false;
    let lookup = Lookup {
        symbols: &join.symbols,
        names: &join.names,
        signatures: &join.signatures,
        part_symbols: &join.part_symbols,
    };
    let resolve = |index: usize, part: &mut CheckedPart| {
        resolve_part(&lookup, index, names[index], part, &locals[index], ids) && !replay
    };
    let Some((first, others)) = parts.split_first_mut() else {
        return true;
    };
    if others.is_empty() {
        return resolve(0, first);
    }
    std::thread::scope(|scope| {
        let threads: Vec<_> = others
            .iter_mut()
            .enumerate()
            .map(|(at, part)| {
                let resolve = &resolve;
                // A part whose thread cannot start is resolved on this
                // one, after the first.
                std::thread::Builder::new()
                    .name("exprjit-resolve".to_owned())
                    .spawn_scoped(scope, move || resolve(at + 1, part))
                    .map_err(|_| ())
            })
            .collect();
        let mut all = resolve(0, first);
        for thread in threads {
            all &= match thread {
                Ok(thread) => thread
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
                Err(()) => false,
            };
        }
        all
    })
}

/// [`link_and_resolve`] for one part, which also links each definition's
/// function to its number in `ids` (a touch of the function the join
/// would otherwise make apart, another cache miss each); stops resolving
/// at the first call that does not resolve apart.
fn resolve_part(
    join: &Lookup<'_, '_>,
    index: usize,
    names: &Names,
    part: &mut CheckedPart,
    locals: &[Option<FuncId>],
    ids: &[GlobalId],
) -> bool {
    let symbols = &join.part_symbols[index];
    let mut all = true;
    for ((def, func), &local) in part.defs.iter().zip(&mut part.funcs).zip(locals) {
        if let Some(local) = local {
            func.link = ir::Link::Defined(ids[local]);
        }
        for event in &part.events[def.events.clone()] {
            if !all {
                break;
            }
            let target = match *event {
                Event::Call {
                    callee, given, ..
                } => defined_here(join, names, symbols, callee, given as usize),
                Event::UnknownName { .. } => None,
            };
            match (target, event) {
                (Some(target), &Event::Call { node, .. }) => {
                    if local.is_some() {
                        func.body.resolve_call(node, target);
                    }
                }
                _ => all = false,
            }
        }
    }
    all
}

/// The function of this program that `callee` (a symbol of a part whose
/// names are `names` and whose symbols here are `symbols`) names, if it
/// has `given` parameters.
fn defined_here(join: &Lookup<'_, '_>, names: &Names, symbols: &[Symbol], callee: Symbol, given: usize) -> Option<FuncId> {
    let symbol = match symbols[callee as usize] {
        NO_SYMBOL => find(join.symbols, join.names, &names[callee], names.hash_of(callee))?,
        symbol => symbol,
    };
    match join.signatures[symbol as usize]? {
        Signature {
            defined: Defined::Here(local),
            arity,
            ..
        } if arity == given => Some(local),
        _ => None,
    }
}

#[cfg(test)]
thread_local! {
    /// Tests compare the join with and without resolving apart: set, the
    /// join replays every event as if some call had not resolved.
    pub(in crate::check) static REPLAY_ALWAYS: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}
