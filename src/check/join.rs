//! The join: the parts' checked items made one [`ir::CheckedProgram`].
//! Here the program is seen whole, on one thread, in source order: the
//! definitions are declared (duplicates refused), every call is resolved
//! to a function and its arity checked, and the errors that depend on the
//! whole program are reported, in the order a single pass over the source
//! would meet them.

use std::borrow::Borrow;

use super::item::{CheckedPart, Event, PartItem};
use super::{Environment, Known};
use std::collections::HashMap;

use crate::ast::{Names, Span, Symbol};
use crate::diag::{Diagnostic, Diagnostics, ErrorCode};
use crate::ir::{self, FuncId, GlobalId};
use crate::suggest;

mod apart;
#[cfg(test)]
pub(super) use apart::REPLAY_ALWAYS;

/// What suggestions for unknown functions may spend in one check, all
/// together: some tens of milliseconds.
const SUGGESTION_BUDGET: u64 = 20_000_000;

/// What the join knows about a function.
#[derive(Copy, Clone)]
struct Signature {
    id: GlobalId,
    /// Its index in the checked program, once it has one: a definition's
    /// from the start, an earlier entry's function's from its first call.
    local: Option<FuncId>,
    arity: usize,
    defined: Defined,
}

/// Where a function is defined.
#[derive(Copy, Clone)]
enum Defined {
    /// In the environment (`Join::earlier`).
    Earlier,
    /// Nowhere yet: called by a definition of the environment or of this
    /// program, with `arity` arguments, as a forward reference.
    Called,
    /// In the program being checked: its function (whose name span and
    /// signature text are those of the definition).
    Here(FuncId),
}

/// The state of one join. Names are interned anew here (`symbols`), as
/// the text the parts' names or `broken_names` hold: each part has its own
/// symbols, mapped on first use (`part_symbols`).
struct Join<'a> {
    env: &'a dyn Environment,
    broken_names: &'a [String],
    symbols: hashbrown::HashTable<Symbol>,
    names: Vec<&'a str>,
    /// Indexed by symbol: its name's [`Names::hash`].
    hashes: Vec<u64>,
    /// For each part, its symbols' symbols here ([`NO_SYMBOL`] if not
    /// looked at yet).
    part_symbols: Vec<Vec<Symbol>>,
    /// Indexed by symbol: what the environment has of that name.
    /// (Only the names it has: none for a file.)
    earlier: HashMap<Symbol, Known>,
    /// Indexed by symbol: the function of that name, if any.
    signatures: Vec<Option<Signature>>,
    /// Indexed by symbol: functions defined by items that failed to parse.
    broken: Vec<bool>,
    /// Indexed by symbol: names defined by the program being checked (not
    /// the environment).
    defined_here: Vec<bool>,
    next_id: GlobalId,
    /// Resolving a definition's calls (where a REPL allows calls to
    /// functions defined nowhere yet), not a top-level expression's.
    in_definition: bool,
    out: ir::CheckedProgram,
    errors: Diagnostics,
    suggestion_budget: u64,
}

/// The symbol in `symbols` (a table of symbols of `names`) of `name`,
/// whose [`Names::hash`] is `hash`.
fn find(symbols: &hashbrown::HashTable<Symbol>, names: &[&str], name: &str, hash: u64) -> Option<Symbol> {
    symbols
        .find(hash, |&symbol| names[symbol as usize] == name)
        .copied()
}

/// A part's symbol not mapped yet.
const NO_SYMBOL: Symbol = Symbol::MAX;

/// Joins `parts` (each with the names its symbols are of), in source
/// order; see [`super::check_with`] for `env` and `broken`.
pub(super) fn join<N: Borrow<Names>>(
    parts: Vec<(CheckedPart, N)>,
    env: &dyn Environment,
    broken: &[String],
) -> Result<ir::CheckedProgram, Diagnostics> {
    let (mut parts, part_names): (Vec<CheckedPart>, Vec<N>) = parts.into_iter().unzip();
    let part_names: Vec<&Names> = part_names.iter().map(Borrow::borrow).collect();
    let mut join = Join {
        env,
        broken_names: broken,
        symbols: hashbrown::HashTable::new(),
        names: Vec::new(),
        hashes: Vec::new(),
        // The first part's are its own symbols (`Join::seed`).
        part_symbols: part_names
            .iter()
            .enumerate()
            .map(|(index, names)| match index {
                0 => (0..names.len() as Symbol).collect(),
                _ => vec![NO_SYMBOL; names.len()],
            })
            .collect(),
        earlier: HashMap::new(),
        signatures: Vec::new(),
        broken: Vec::new(),
        defined_here: Vec::new(),
        next_id: env.next_id(),
        in_definition: false,
        out: ir::CheckedProgram::default(),
        errors: Diagnostics::new(),
        suggestion_budget: SUGGESTION_BUDGET,
    };
    // The first part's names keep their symbols: its table is copied, not
    // built again a name at a time (half the join's interning, on two
    // parts). Then room for every other name at once: growing the table
    // rehashes it, each step a walk of scattered strings.
    if let Some(&first) = part_names.first() {
        join.seed(first);
    }
    let names: usize = part_names.iter().skip(1).map(|names| names.len()).sum();
    join.reserve(names + broken.len());
    for name in broken {
        let symbol = join.intern(name);
        join.broken[symbol as usize] = true;
    }
    for part in &mut parts {
        join.errors.append(std::mem::take(&mut part.errors));
    }

    // Every definition is declared before any call is resolved.
    let mut locals: Vec<Vec<Option<FuncId>>> = Vec::with_capacity(parts.len());
    let definitions: usize = parts.iter().map(|part| part.defs.len()).sum();
    let mut ids: Vec<GlobalId> = Vec::with_capacity(definitions);
    let mut name_spans: Vec<Span> = Vec::with_capacity(definitions);
    for (index, part) in parts.iter().enumerate() {
        let names = part_names[index];
        let mut part_locals = Vec::with_capacity(part.defs.len());
        for def in &part.defs {
            let symbol = join.symbol(index, names, def.name.name);
            let local = join.declare(symbol, def.name.span, def.arity, &name_spans);
            if let Some((_, id)) = local {
                ids.push(id);
                name_spans.push(def.name.span);
            }
            part_locals.push(local.map(|(local, _)| local));
        }
        locals.push(part_locals);
    }
    drop(name_spans);
    // Most calls resolve on the parts' threads (see `apart`); the replay
    // below is needed only if one does not.
    let resolved_apart = apart::link_and_resolve(&join, &mut parts, &part_names, &locals, &ids);
    // The functions go into the program in order (linked above), the
    // duplicates' left out; the first part's buffer becomes the program's.
    let total: usize = parts
        .iter()
        .map(|part| part.funcs.len() + part.exprs.len())
        .sum();
    for (index, part) in parts.iter_mut().enumerate() {
        let mut funcs = std::mem::take(&mut part.funcs);
        let part_locals = &locals[index];
        if part_locals.iter().any(Option::is_none) {
            let mut keep = part_locals.iter().map(Option::is_some);
            funcs.retain(|_| keep.next().unwrap_or(false));
        }
        if index == 0 {
            join.out.funcs = funcs;
            join.out.funcs.reserve_exact(total - join.out.funcs.len());
        } else {
            join.out.funcs.append(&mut funcs);
        }
    }
    // Only a redefinition of a function of the environment can change an
    // arity something else calls with (a file's join has no environment).
    if !join.earlier.is_empty() {
        for (index, part) in parts.iter().enumerate() {
            let names = part_names[index];
            for def in &part.defs {
                let symbol = join.symbol(index, names, def.name.name);
                join.check_arity_change(symbol, def.name.span);
            }
        }
    }

    join.in_definition = true;
    if !resolved_apart {
        for (index, part) in parts.iter().enumerate() {
            let names = part_names[index];
            for (def, &local) in part.defs.iter().zip(&locals[index]) {
                for event in &part.events[def.events.clone()] {
                    let resolved = join.event(index, names, event);
                    if let (Some(local), Some((node, callee))) = (local, resolved) {
                        join.out.funcs[local].body.resolve_call(node, callee);
                    }
                }
            }
        }
    }
    join.in_definition = false;

    let mut item_index = 0;
    for (index, part) in parts.iter_mut().enumerate() {
        let names = part_names[index];
        let mut def_locals = locals[index].iter();
        for &item in &part.items {
            item_index += 1;
            match item {
                PartItem::Def => {
                    // Duplicates have no id; every other definition takes
                    // the next.
                    if let Some(&Some(local)) = def_locals.next() {
                        join.out.items.push(ir::Item::Def(local));
                    }
                }
                PartItem::Expr(expr) => {
                    let mut body = std::mem::take(&mut part.exprs[expr].body);
                    for event in &part.events[part.exprs[expr].events.clone()] {
                        if let Some((node, callee)) = join.event(index, names, event) {
                            body.resolve_call(node, callee);
                        }
                    }
                    let out = &mut join.out;
                    out.items.push(ir::Item::Expr(out.funcs.len()));
                    out.top_level.push(out.funcs.len());
                    out.funcs.push(ir::Func {
                        name: format!("<top-level expression {item_index}>"),
                        name_span: part.exprs[expr].span,
                        signature: String::new(),
                        arity: 0,
                        locals: part.exprs[expr].locals,
                        body,
                        link: ir::Link::TopLevel,
                        def_span: Span::default(),
                    });
                }
            }
        }
    }
    if join.errors.is_empty() {
        Ok(join.out)
    } else {
        Err(join.errors)
    }
}

impl<'a> Join<'a> {
    fn name(&self, symbol: Symbol) -> &'a str {
        self.names[symbol as usize]
    }

    /// Makes room for `names` more names.
    fn reserve(&mut self, names: usize) {
        let hashes = &self.hashes;
        self.symbols
            .reserve(names, |&symbol| hashes[symbol as usize]);
        self.names.reserve(names);
        self.hashes.reserve(names);
        self.signatures.reserve(names);
        self.broken.reserve(names);
        self.defined_here.reserve(names);
    }

    /// Makes the names of `first` (the join's first, before any other)
    /// symbols here, numbered as there.
    fn seed(&mut self, first: &'a Names) {
        debug_assert!(self.names.is_empty());
        self.reserve(first.len());
        self.symbols = first.table().clone();
        self.hashes.extend_from_slice(first.hashes());
        for name in first.iter() {
            let symbol = self.names.len() as Symbol;
            self.names.push(name);
            self.add_known(symbol, name);
        }
    }

    /// The symbol of `name` here, looking up in the environment what it
    /// has of that name when the name is new.
    fn intern(&mut self, name: &'a str) -> Symbol {
        self.intern_hashed(name, Names::hash(name))
    }

    /// [`Join::intern`] of `name`, whose [`Names::hash`] is `hash`.
    fn intern_hashed(&mut self, name: &'a str, hash: u64) -> Symbol {
        if let Some(symbol) = find(&self.symbols, &self.names, name, hash) {
            return symbol;
        }
        let symbol = self.names.len() as Symbol;
        self.names.push(name);
        self.hashes.push(hash);
        let hashes = &self.hashes;
        self.symbols
            .insert_unique(hash, symbol, |&symbol| hashes[symbol as usize]);
        self.add_known(symbol, name);
        symbol
    }

    /// Records what the environment has of `name`, new symbol `symbol`.
    fn add_known(&mut self, symbol: Symbol, name: &str) {
        let known = self.env.lookup(name);
        self.signatures.push(known.as_ref().map(|known| Signature {
            id: known.id,
            local: None,
            arity: known.arity,
            defined: match known.signature {
                Some(_) => Defined::Earlier,
                None => Defined::Called,
            },
        }));
        if let Some(known) = known {
            self.earlier.insert(symbol, known);
        }
        self.broken.push(false);
        self.defined_here.push(false);
    }

    /// The symbol here of `name`, if it has one.
    fn get(&self, name: &str) -> Option<Symbol> {
        find(&self.symbols, &self.names, name, Names::hash(name))
    }

    /// The symbol here of symbol `symbol` of part `part`.
    fn symbol(&mut self, part: usize, names: &'a Names, symbol: Symbol) -> Symbol {
        let mapped = self.part_symbols[part][symbol as usize];
        if mapped != NO_SYMBOL {
            return mapped;
        }
        let mapped = self.intern_hashed(&names[symbol], names.hash_of(symbol));
        self.part_symbols[part][symbol as usize] = mapped;
        mapped
    }

    /// Does what `event` of an item of part `part` asks; for a call that
    /// resolves, returns its node and the function it calls.
    fn event(&mut self, part: usize, names: &'a Names, event: &Event) -> Option<(ir::NodeId, FuncId)> {
        match *event {
            Event::Call {
                node,
                callee,
                given,
                span,
            } => {
                let callee = self.symbol(part, names, callee);
                self.call(callee, given as usize, span.into())
                    .map(|func| (node, func))
            }
            Event::UnknownName {
                name,
                span,
                ref suggestion,
            } => {
                let name = self.symbol(part, names, name);
                self.unknown_name(name, span.into(), suggestion.as_deref());
                None
            }
        }
    }

    /// Resolves a call at `span` of `callee` with `given` arguments.
    fn call(&mut self, callee: Symbol, given: usize, span: Span) -> Option<FuncId> {
        if self.signatures[callee as usize].is_none() {
            let forward = self.in_definition && self.env.forward_references();
            if self.broken[callee as usize] || !forward {
                if !self.broken[callee as usize] {
                    let name_end = span.start + self.name(callee).len();
                    self.unknown_function(callee, Span::new(span.start, name_end));
                }
                return None;
            }
            // A REPL definition may call a function a later entry
            // defines; its first call fixes the number of arguments.
            let id = self.new_id();
            self.signatures[callee as usize] = Some(Signature {
                id,
                local: None,
                arity: given,
                defined: Defined::Called,
            });
        }
        let signature = self.signatures[callee as usize].expect("declared above");
        if signature.arity != given {
            self.wrong_arity(span, callee, given);
        }
        Some(self.local_of(callee))
    }

    /// `name(p1, p2)`, as function `symbol` was declared (`name(_, _)` for
    /// one only called so far).
    fn signature_text(&self, symbol: Symbol) -> String {
        let Some(signature) = self.signatures[symbol as usize] else {
            return String::new();
        };
        match signature.defined {
            Defined::Here(local) => self.out.funcs[local].signature.clone(),
            // Only called so far: the parameters have no names yet.
            Defined::Earlier | Defined::Called => match self.earlier.get(&symbol) {
                Some(Known {
                    signature: Some(text),
                    ..
                }) => text.clone(),
                _ => format!(
                    "{}({})",
                    self.name(symbol),
                    vec!["_"; signature.arity].join(", ")
                ),
            },
        }
    }

    /// Declares the definition of `symbol` (its name at `name_span`, of
    /// `arity` parameters) as the next function of the program, whose
    /// earlier ones' names are at `name_spans`; returns its index and
    /// number, or `None` for a duplicate definition.
    fn declare(
        &mut self,
        symbol: Symbol,
        name_span: Span,
        arity: usize,
        name_spans: &[Span],
    ) -> Option<(FuncId, GlobalId)> {
        let index = symbol as usize;
        if std::mem::replace(&mut self.defined_here[index], true) {
            let mut error = Diagnostic::new(
                ErrorCode::DuplicateFunction,
                format!("function '{}' is defined twice", self.name(symbol)),
                name_span,
            )
            .with_label("defined again here");
            if let Some(Signature {
                defined: Defined::Here(first),
                ..
            }) = self.signatures[index]
            {
                error = error.with_related(name_spans[first], "first defined here");
            }
            self.errors.push(error);
            return None;
        }
        let id = match self.signatures[index] {
            Some(earlier) => earlier.id,
            None => self.new_id(),
        };
        let local = name_spans.len();
        self.signatures[index] = Some(Signature {
            id,
            local: Some(local),
            arity,
            defined: Defined::Here(local),
        });
        Some((local, id))
    }

    fn new_id(&mut self) -> GlobalId {
        self.next_id += 1;
        self.next_id - 1
    }

    /// The index in the checked program of the function `symbol` names,
    /// declaring it as [`ir::Link::External`] on the first call if it
    /// belongs to the environment (or to nothing yet).
    fn local_of(&mut self, symbol: Symbol) -> FuncId {
        let signature = self.signatures[symbol as usize]
            .as_mut()
            .expect("called functions have a signature");
        if let Some(local) = signature.local {
            return local;
        }
        let local = self.out.funcs.len();
        signature.local = Some(local);
        let (id, arity) = (signature.id, signature.arity);
        let text = self.signature_text(symbol);
        self.out.funcs.push(ir::Func {
            name: self.name(symbol).to_owned(),
            name_span: Span::default(),
            signature: text,
            arity,
            locals: 0,
            body: ir::Body::leaf(ir::Node::Int(0)),
            link: ir::Link::External(id),
            def_span: Span::default(),
        });
        local
    }

    /// Reports a redefinition (at `name_span`) that changes the number of
    /// parameters of a function that an earlier function, not itself
    /// redefined, calls.
    fn check_arity_change(&mut self, symbol: Symbol, name_span: Span) {
        let index = symbol as usize;
        let (Some(Signature { id, arity, .. }), Some(old)) =
            (self.signatures[index], self.earlier.get(&symbol))
        else {
            return;
        };
        if old.arity == arity {
            return;
        }
        let old_arity = old.arity;
        let redefined = |name: &str| {
            self.get(name)
                .is_some_and(|symbol| self.defined_here[symbol as usize])
        };
        let callers: Vec<String> = self
            .env
            .callers(id)
            .into_iter()
            .filter(|caller| !redefined(caller))
            .collect();
        if callers.is_empty() {
            return;
        }
        let quoted: Vec<String> = callers.iter().map(|c| format!("'{c}'")).collect();
        self.errors.push(
            Diagnostic::new(
                ErrorCode::ArityChange,
                format!(
                    "cannot change the number of parameters of '{}' from {} to {}",
                    self.name(symbol),
                    old_arity,
                    arity
                ),
                name_span,
            )
            .with_label(format!(
                "still called with {} by {}",
                plural(old_arity, "argument"),
                quoted.join(", ")
            ))
            .with_help(format!(
                "redefine {} in the same entry, or give the new function another name",
                quoted.join(", ")
            )),
        );
    }

    #[cold]
    #[inline(never)]
    fn unknown_name(&mut self, symbol: Symbol, span: Span, suggestion: Option<&str>) {
        let name = self.name(symbol);
        let mut error = Diagnostic::new(
            ErrorCode::UnknownName,
            format!("unknown name '{name}'"),
            span,
        )
        .with_label("not a parameter or let binding in scope");
        if self.signatures[symbol as usize].is_some() {
            error = error.with_help(format!(
                "'{name}' is a function; call it as {}",
                self.signature_text(symbol)
            ));
        } else if let Some(near) = suggestion {
            error = error.with_help(format!("did you mean '{near}'?"));
        }
        self.errors.push(error);
    }

    /// Every function name known: the program's, the environment's and
    /// the broken definitions'.
    fn known_functions(&self) -> Vec<String> {
        let here = (0..self.signatures.len())
            .filter(|&symbol| self.signatures[symbol].is_some() || self.broken[symbol])
            .map(|symbol| self.name(symbol as Symbol).to_owned());
        let elsewhere = self
            .env
            .names()
            .into_iter()
            .chain(self.broken_names.iter().cloned())
            .filter(|name| self.get(name).is_none());
        here.chain(elsewhere).collect()
    }

    #[cold]
    #[inline(never)]
    fn unknown_function(&mut self, callee: Symbol, span: Span) {
        let name = self.name(callee);
        let mut error = Diagnostic::new(
            ErrorCode::UnknownFunction,
            format!("unknown function '{name}'"),
            span,
        )
        .with_label("no function of this name is defined");
        // Only an error that can be among those shown is worth the search.
        if self.errors.may_keep(span.start) {
            let mut budget = self.suggestion_budget;
            let known = self.known_functions();
            let name = self.name(callee);
            if let Some(near) =
                suggest::closest_within(name, known.iter().map(String::as_str), &mut budget)
            {
                error = error.with_help(format!("did you mean '{near}'?"));
            }
            self.suggestion_budget = budget;
        }
        self.errors.push(error);
    }

    /// A call at `span` passes `given` arguments to `name`, whose signature
    /// is known and takes a different number.
    #[cold]
    #[inline(never)]
    fn wrong_arity(&mut self, span: Span, callee: Symbol, given: usize) {
        let name = self.name(callee);
        let Some(signature) = self.signatures[callee as usize] else {
            return;
        };
        let text = self.signature_text(callee);
        let mut error = Diagnostic::new(
            ErrorCode::WrongArity,
            format!(
                "function '{name}' takes {} but {given} {} given",
                plural(signature.arity, "argument"),
                if given == 1 { "was" } else { "were" }
            ),
            span,
        )
        .with_label(format!("expected {}", plural(signature.arity, "argument")));
        error = match signature.defined {
            Defined::Here(local) => error.with_related(
                self.out.funcs[local].name_span,
                format!("defined here as {text}"),
            ),
            Defined::Earlier => error.with_help(format!("it is defined as {text}")),
            Defined::Called => error.with_help(format!(
                "'{name}' is not defined yet; its first call passes {}",
                plural(signature.arity, "argument")
            )),
        };
        self.errors.push(error);
    }
}

fn plural(count: usize, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

