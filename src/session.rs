//! An interactive session: definitions that accumulate over entries, each
//! entry compiled and run at once.
//!
//! Each entry is checked against the session's signatures (looked up by
//! name, never copied) and compiled on its own, into a *unit*: its checked
//! program and, on the JIT, its own code module. A call from one entry's
//! code to a function of another goes through the session's function table
//! ([`jit::table`]), a data page holding the current entry address of each
//! function ([`GlobalId`]); calls within an entry stay direct. Redefining
//! a function writes its new address into its slot, and its old entry is
//! overwritten with a jump to the slot (for the direct callers in its own
//! entry), so every earlier caller runs the new body, as if everything had
//! been compiled again. An entry inlines its own small functions; the
//! functions holding inlined copies of one that a later entry replaces are
//! compiled again from their source first (`link.rs`). The interpreter
//! follows the same table semantics through its linker.
//!
//! A definition may call a function no entry has defined yet (a forward
//! reference): its slot points at code that turns the call into the
//! runtime error "not defined yet" at the call. A unit is dropped, and its
//! code unmapped, when no function in it is live any more; that happens
//! only between entries, when no code runs.
//!
//! An entry is all or nothing: if it fails to compile or a runtime error
//! stops it, the table, the units and the signatures are as before.

use std::collections::HashMap;
use std::rc::Rc;
use std::time::{Duration, Instant};

use foldhash::fast::FixedState;

use crate::check::{Environment, Known};
use crate::diag::{Diagnostics, SourceFile};
use crate::ir::{self, FuncId, GlobalId};
use crate::jit::runtime::Watch;
use crate::jit::table::{self, FunctionTable};
use crate::jit::{self, Fault, LimitInterrupt, Linked};
use crate::pipeline::{self, Backend, Timings};
use crate::{codegen, debuginfo, interp};

mod link;

/// Entries of replaced definitions redirected to the table: unit, function
/// and the bytes the redirect replaced.
type Patches = Vec<(usize, FuncId, Vec<u8>)>;

/// What an entry produced, item by item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// A function was defined (or replaced an earlier one of that name);
    /// `undefined` lists the functions it calls that no entry defines yet.
    Defined {
        signature: String,
        redefined: bool,
        undefined: Vec<Undefined>,
    },
    /// A top-level expression's value.
    Value(i64),
}

/// A function that a definition calls and no entry defines yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Undefined {
    pub name: String,
    /// A defined function with a name close to it: perhaps a typo.
    pub near: Option<String>,
}

/// What suggestions for the undefined names of one entry may cost (as in
/// the checker: some milliseconds however large the session).
const SUGGESTION_BUDGET: u64 = 2_000_000;

/// Why an entry failed.
#[derive(Debug)]
pub enum Failure {
    /// Compile or runtime errors, with the source they point into (an
    /// earlier entry's, for a runtime error inside an earlier definition).
    Errors {
        file: Rc<SourceFile>,
        diagnostics: Diagnostics,
    },
    /// An [`LimitInterrupt`] stopped the run.
    Interrupted,
    /// The system refused memory for code or the JIT stack.
    System(String),
}

/// The outcome of one entry.
#[derive(Debug)]
pub struct Outcome {
    /// The replies produced before any failure, in item order.
    pub replies: Vec<Reply>,
    pub failure: Option<Failure>,
    /// Compile phases, and the time spent running.
    pub timings: Timings,
    pub run: Duration,
}

/// A REPL session's state.
#[derive(Default)]
pub struct Session {
    /// The entries with live definitions, by unit number (a slot is `None`
    /// once its unit is dropped). Declared before `table` and `undefined`:
    /// their code reads the table and may jump to `undefined`'s code.
    units: Vec<Option<Unit>>,
    /// The unit numbers whose slots are free, for the next units.
    free_units: Vec<usize>,
    /// How many units have no code yet (the interpreter ran them).
    codeless_units: usize,
    /// Every function the session has known, by [`GlobalId`].
    funcs: Vec<SessionFunc>,
    /// How many functions have been defined (not counting redefinitions).
    definitions: usize,
    /// For a function, the functions (and their units) whose code has a
    /// copy of it inlined: when it is replaced, they are compiled again.
    /// Entries whose function has moved to another unit are stale, and
    /// skipped.
    inlined_into: HashMap<GlobalId, Vec<(GlobalId, usize)>, FixedState>,
    /// The id of each function by name (defined, or called by a live
    /// definition).
    by_name: HashMap<String, GlobalId, FixedState>,
    /// The code that the table's slots of functions not defined yet point
    /// at (a program without functions), once the JIT has run.
    undefined: Option<jit::LoadedProgram>,
    /// The function table, once the JIT has run.
    table: Option<FunctionTable>,
    /// What runs the entries.
    backend: Backend,
    /// Register each entry's code with debuggers (`-g`).
    debug_info: bool,
    /// With debug info, the entries written out for debuggers.
    entry_files: EntryFiles,
}

/// One entry with live definitions.
struct Unit {
    program: Rc<ir::CheckedProgram>,
    file: Rc<SourceFile>,
    /// Its code, once the JIT has compiled it (an entry run by the
    /// interpreter gets code when the JIT next runs).
    code: Option<jit::LoadedProgram>,
    /// How many of its functions are the current definition of theirs.
    live: usize,
}

/// What the session knows of one function.
struct SessionFunc {
    name: String,
    arity: usize,
    /// How it was declared; `None` while it is only called.
    signature: Option<String>,
    /// Where its current definition is: unit and index in the unit's
    /// program.
    at: Option<(usize, FuncId)>,
    /// How many current definitions call it (each counted once). Who they
    /// are is looked up only for the error that needs their names.
    callers: usize,
    /// When it was first defined (in the session's count of definitions),
    /// for listing definitions in the order they were made.
    first_defined: usize,
}

/// REPL entries as files in a temporary directory, for debuggers' `list`;
/// the directory is removed with the session.
#[derive(Default)]
struct EntryFiles {
    dir: Option<std::path::PathBuf>,
}

impl EntryFiles {
    /// The path debuggers are given for `file` (an entry named like
    /// `<entry 3>`): written to the directory the first time, or the
    /// entry's name if it cannot be.
    fn path_of(&mut self, file: &SourceFile) -> String {
        let dir = self.dir.get_or_insert_with(|| {
            std::env::temp_dir().join(format!("exprjit-{}-repl", std::process::id()))
        });
        let name: String = file
            .name
            .chars()
            .filter_map(|c| match c {
                '<' | '>' => None,
                c if c.is_ascii_alphanumeric() => Some(c),
                _ => Some('-'),
            })
            .collect();
        let path = dir.join(format!("{name}.ex"));
        let written = path.exists()
            || (std::fs::create_dir_all(&*dir).is_ok()
                && std::fs::write(&path, &file.text).is_ok());
        if written {
            path.display().to_string()
        } else {
            file.name.clone()
        }
    }
}

impl Drop for EntryFiles {
    fn drop(&mut self) {
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

impl Environment for Session {
    fn lookup(&self, name: &str) -> Option<Known> {
        let &id = self.by_name.get(name)?;
        let func = &self.funcs[id];
        Some(Known {
            id,
            arity: func.arity,
            signature: func.signature.clone(),
        })
    }

    fn next_id(&self) -> GlobalId {
        self.funcs.len()
    }

    fn callers(&self, id: GlobalId) -> Vec<String> {
        if self.funcs[id].callers == 0 {
            return Vec::new();
        }
        // Only for an error (or a change that redefines every caller too):
        // a walk over the live definitions.
        self.funcs
            .iter()
            .filter(|func| {
                func.at.is_some_and(|(unit, local)| {
                    let unit = self.units[unit].as_ref().expect("live");
                    callees(&unit.program, local).contains(&id)
                })
            })
            .map(|func| func.name.clone())
            .collect()
    }

    fn names(&self) -> Vec<String> {
        self.names().map(str::to_owned).collect()
    }

    fn forward_references(&self) -> bool {
        true
    }
}

/// The error for an entry that would give the session more functions than
/// the function table has slots.
fn too_many_functions() -> Failure {
    Failure::System(format!(
        "the session cannot hold more than {} functions",
        table::CAPACITY
    ))
}

impl Session {
    pub fn new() -> Session {
        Session::default()
    }

    /// Compiles and runs one entry named `name` (e.g. `<entry 3>`).
    pub fn eval(&mut self, name: &str, text: &str, interrupt: Option<&LimitInterrupt>) -> Outcome {
        let file = Rc::new(SourceFile::new(name, text));
        self.eval_in(file, text, interrupt)
    }

    /// Compiles and runs `text`, whose diagnostics point into `file` (the
    /// entry's own text, or the text of an earlier entry whose functions
    /// are compiled again, with what is not them blanked out).
    fn eval_in(
        &mut self,
        file: Rc<SourceFile>,
        text: &str,
        interrupt: Option<&LimitInterrupt>,
    ) -> Outcome {
        let mut outcome = Outcome {
            replies: Vec::new(),
            failure: None,
            timings: Timings::default(),
            run: Duration::ZERO,
        };
        // Ctrl-C while compiling (a long `:load`) abandons the entry.
        let watch = interrupt.map(LimitInterrupt::watch);
        let cancelled = || watch.as_ref().is_some_and(|w| w.requested());
        let checked = pipeline::front_end_with(text, &*self, &cancelled, &mut outcome.timings);
        let program = match checked {
            _ if cancelled() => {
                outcome.failure = Some(Failure::Interrupted);
                return outcome;
            }
            Ok(program) => Rc::new(program),
            Err(diagnostics) => {
                outcome.failure = Some(Failure::Errors { file, diagnostics });
                return outcome;
            }
        };
        let ids_after = program
            .funcs
            .iter()
            .filter_map(|func| func.link.id())
            .max()
            .map_or(0, |id| id + 1);
        if ids_after > table::CAPACITY {
            outcome.failure = Some(too_many_functions());
            return outcome;
        }
        // What has copies of the functions this entry replaces is compiled
        // again first (the same definitions, so the session means the same
        // whether this entry succeeds or not).
        if let Err(failure) = self.recompile_dependents(&program) {
            outcome.failure = Some(failure);
            return outcome;
        }
        let start = Instant::now();
        let result = match self.backend {
            Backend::Jit => self.run_jit(&program, &file, (interrupt, watch), &mut outcome),
            Backend::Interp => {
                drop(watch);
                self.run_interp(&program, &file, interrupt, &mut outcome);
                // The interpreter leaves no code: the JIT compiles the
                // entry when it next runs.
                Ok(None)
            }
        };
        outcome.run = start
            .elapsed()
            .saturating_sub(outcome.timings.codegen + outcome.timings.load);
        match result {
            Ok(code) if outcome.failure.is_none() => self.commit(program, file, code, &mut outcome),
            Ok(_) => {}
            Err(failure) => outcome.failure = Some(failure),
        }
        outcome
    }

    /// Compiles and loads `program` with the JIT, points the table at its
    /// functions and runs its top-level expressions. On a failure the
    /// table is as before; on success, the code to keep.
    /// `watch` sees an interrupt while compiling, before `interrupt` can
    /// stop the code.
    fn run_jit(
        &mut self,
        program: &Rc<ir::CheckedProgram>,
        file: &Rc<SourceFile>,
        (interrupt, watch): (Option<&LimitInterrupt>, Option<Watch<'_>>),
        outcome: &mut Outcome,
    ) -> Result<Option<jit::LoadedProgram>, Failure> {
        let system = |error: std::io::Error| {
            Failure::System(format!("cannot map executable memory: {error}"))
        };
        self.prepare_jit().map_err(system)?;
        let code = self
            .load(program, file, true, &mut outcome.timings)
            .map_err(system)?;
        if watch.is_some_and(|watch| watch.requested()) {
            return Err(Failure::Interrupted);
        }
        // The slots this entry changes, and what they held.
        let undefined = self.undefined_address();
        let table = self.table.as_mut().expect("prepared");
        let mut saved = Vec::new();
        for (local, func) in program.funcs.iter().enumerate() {
            let (id, entry) = match func.link {
                ir::Link::Defined(id) => (id, code.entry_address(local)),
                ir::Link::External(id) if id >= self.funcs.len() => (id, undefined),
                _ => continue,
            };
            saved.push((id, table.get(id)));
            table.set(id, entry);
        }
        let patched = match self.redirect_replaced(program) {
            Ok(patched) => patched,
            Err((error, patched)) => {
                self.undo(&saved, &patched);
                return Err(system(error));
            }
        };
        for item in &program.items {
            let ir::Item::Expr(func) = *item else {
                continue;
            };
            let failure = match code.call_linked(func, &[], interrupt) {
                Ok(Linked::Returned(value)) => {
                    outcome.replies.push(Reply::Value(value));
                    continue;
                }
                Ok(Linked::Fault(Fault::Interrupted)) => Failure::Interrupted,
                Ok(Linked::Fault(fault)) => self.runtime_failure(fault, file),
                Ok(Linked::Trapped(address)) => self.trap_failure(address, &code, file),
                Err(error) => Failure::System(format!("cannot allocate the JIT stack: {error}")),
            };
            self.undo(&saved, &patched);
            return Err(failure);
        }
        Ok(Some(code))
    }

    /// Runs the top-level expressions of `program` with the interpreter,
    /// which finds the functions of other entries as the table would; on
    /// success, redirects the code of the definitions it replaces, as the
    /// JIT does before it runs.
    fn run_interp(
        &mut self,
        program: &Rc<ir::CheckedProgram>,
        file: &Rc<SourceFile>,
        interrupt: Option<&LimitInterrupt>,
        outcome: &mut Outcome,
    ) {
        let here: &ir::CheckedProgram = program;
        let mut defined_here: HashMap<GlobalId, FuncId, FixedState> = HashMap::default();
        for (local, func) in here.funcs.iter().enumerate() {
            if let ir::Link::Defined(id) = func.link {
                defined_here.insert(id, local);
            }
        }
        let link = |id: GlobalId| match defined_here.get(&id) {
            Some(&local) => Some((here, local)),
            None => {
                let (unit, local) = self.funcs.get(id)?.at?;
                let unit = self.units[unit].as_ref().expect("live");
                Some((&*unit.program, local))
            }
        };
        for item in &here.items {
            let ir::Item::Expr(func) = *item else {
                continue;
            };
            match interp::call_linked(here, func, &[], interrupt, &link) {
                Ok(value) => outcome.replies.push(Reply::Value(value)),
                Err((Fault::Interrupted, _)) => {
                    outcome.failure = Some(Failure::Interrupted);
                    break;
                }
                Err((fault, in_program)) => {
                    let file = if std::ptr::eq(in_program, here) {
                        Rc::clone(file)
                    } else {
                        self.unit_of_program(in_program)
                            .map_or_else(|| Rc::clone(file), |unit| Rc::clone(&unit.file))
                    };
                    outcome.failure = Some(Failure::Errors {
                        file,
                        diagnostics: fault.to_diagnostic().into(),
                    });
                    break;
                }
            }
        }
        if outcome.failure.is_none()
            && let Err((error, patched)) = self.redirect_replaced(here)
        {
            self.undo(&[], &patched);
            outcome.failure = Some(Failure::System(format!(
                "cannot redirect replaced code: {error}"
            )));
        }
    }

    /// The failure for a fault in this entry's own code.
    fn runtime_failure(&self, fault: Fault, file: &Rc<SourceFile>) -> Failure {
        Failure::Errors {
            file: Rc::clone(file),
            diagnostics: fault.to_diagnostic().into(),
        }
    }

    /// Keeps a successful entry: its definitions replace the earlier ones
    /// in the signatures and the table (done already by the JIT), the
    /// units left with no live function are dropped, and the replies say
    /// what was defined.
    fn commit(
        &mut self,
        program: Rc<ir::CheckedProgram>,
        file: Rc<SourceFile>,
        code: Option<jit::LoadedProgram>,
        outcome: &mut Outcome,
    ) {
        let known = self.funcs.len();
        // New functions (defined, or only called) in the order of their ids.
        let mut new: Vec<(GlobalId, &ir::Func)> = program
            .funcs
            .iter()
            .filter_map(|func| {
                func.link
                    .id()
                    .filter(|&id| id >= known)
                    .map(|id| (id, func))
            })
            .collect();
        new.sort_unstable_by_key(|&(id, _)| id);
        for (id, func) in new {
            debug_assert_eq!(id, self.funcs.len());
            self.by_name.insert(func.name.clone(), id);
            self.funcs.push(SessionFunc {
                name: func.name.clone(),
                arity: func.arity,
                signature: None,
                at: None,
                callers: 0,
                first_defined: usize::MAX,
            });
        }
        let unit = self.free_units.pop().unwrap_or_else(|| {
            self.units.push(None);
            self.units.len() - 1
        });
        let mut live = 0;
        // The values came first; the replies go in item order.
        let mut values = std::mem::take(&mut outcome.replies).into_iter();
        let mut defined = Vec::new();
        for item in &program.items {
            let local = match *item {
                ir::Item::Expr(_) => {
                    outcome.replies.extend(values.next());
                    continue;
                }
                ir::Item::Def(local) => local,
            };
            let func = &program.funcs[local];
            let ir::Link::Defined(id) = func.link else {
                continue;
            };
            let redefined = self.funcs[id].signature.is_some();
            if let Some(old) = self.funcs[id].at.take() {
                self.forget_body(old);
            }
            let callees = callees(&program, local);
            for &callee in &callees {
                self.funcs[callee].callers += 1;
            }
            self.definitions += usize::from(!redefined);
            let entry = &mut self.funcs[id];
            if !redefined {
                entry.first_defined = self.definitions;
            }
            entry.arity = func.arity;
            entry.signature = Some(func.signature.clone());
            entry.at = Some((unit, local));
            live += 1;
            defined.push((outcome.replies.len(), callees));
            outcome.replies.push(Reply::Defined {
                signature: func.signature.clone(),
                redefined,
                undefined: Vec::new(),
            });
        }
        // Once the whole entry is in: which callees are still undefined.
        let mut budget = SUGGESTION_BUDGET;
        for (reply, callees) in defined {
            let names: Vec<Undefined> = callees
                .into_iter()
                .filter(|&callee| self.funcs[callee].at.is_none())
                .map(|callee| {
                    let name = &self.funcs[callee].name;
                    let near = crate::suggest::closest_within(name, self.names(), &mut budget);
                    Undefined {
                        name: name.clone(),
                        near: near.map(str::to_owned),
                    }
                })
                .collect();
            if let Reply::Defined { undefined, .. } = &mut outcome.replies[reply] {
                *undefined = names;
            }
        }
        if live == 0 {
            self.free_units.push(unit);
            return;
        }
        if let Some(code) = &code {
            self.record_inlining(unit, &program, code.map());
        }
        self.codeless_units += usize::from(code.is_none());
        self.units[unit] = Some(Unit {
            program,
            file,
            code,
            live,
        });
    }

    /// Drops a function's old body, at `old`: it calls nothing any
    /// more, and its unit goes when it has no live function left.
    fn forget_body(&mut self, (unit, local): (usize, FuncId)) {
        let program = Rc::clone(&self.units[unit].as_ref().expect("live").program);
        for callee in callees(&program, local) {
            let callee = &mut self.funcs[callee];
            callee.callers -= 1;
            // A function no definition calls any more and none defines is
            // forgotten: a later definition may give it any arity.
            if callee.callers == 0 && callee.at.is_none() && callee.signature.is_none() {
                self.by_name.remove(&callee.name);
            }
        }
        let slot = &mut self.units[unit];
        let entry = slot.as_mut().expect("live");
        entry.live -= 1;
        if entry.live == 0 {
            // Nothing runs between entries: no frame of its code is live.
            self.codeless_units -= usize::from(entry.code.is_none());
            *slot = None;
            self.free_units.push(unit);
        }
    }

    /// The signatures of all definitions, in the order they were first
    /// defined.
    pub fn signatures(&self) -> impl Iterator<Item = &str> {
        let mut defined: Vec<&SessionFunc> = self.funcs.iter().filter(|f| f.at.is_some()).collect();
        defined.sort_by_key(|f| f.first_defined);
        defined.into_iter().filter_map(|f| f.signature.as_deref())
    }

    /// The names of all definitions.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.funcs
            .iter()
            .filter(|f| f.at.is_some())
            .map(|f| f.name.as_str())
    }

    /// The address of the code of function `name`'s current definition, if
    /// the JIT has compiled it.
    pub fn code_address(&self, name: &str) -> Option<u64> {
        let (unit, local) = self.funcs[*self.by_name.get(name)?].at?;
        let code = self.units[unit].as_ref()?.code.as_ref()?;
        Some(code.entry_address(local))
    }

    /// How many code modules the session holds (one per entry with live
    /// definitions that the JIT has compiled).
    pub fn code_modules(&self) -> usize {
        self.units
            .iter()
            .flatten()
            .filter(|unit| unit.code.is_some())
            .count()
    }

    /// Forgets every definition and frees all code (the back end stays).
    pub fn reset(&mut self) {
        *self = Session {
            backend: self.backend,
            debug_info: self.debug_info,
            ..Session::default()
        };
    }

    /// The back end that runs the entries.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Registers the code of later entries with debuggers (`-g`), or not.
    pub fn set_debug_info(&mut self, on: bool) {
        self.debug_info = on;
    }

    /// Runs later entries with `backend`; the definitions stay.
    pub fn set_backend(&mut self, backend: Backend) {
        self.backend = backend;
    }

    /// The disassembly of the current definition of function `name`, if
    /// it is defined. When the interpreter ran its entry there is no
    /// loaded code, so the entry is compiled just for display (at address
    /// 0, with calls to other entries through a table at 0).
    ///
    /// With debug info on (`-g`), each run of instructions is headed by the
    /// source line it computes, in colour if `colour`.
    pub fn disassemble(&self, name: &str, colour: bool) -> Option<String> {
        let &id = self.by_name.get(name)?;
        let (unit, local) = self.funcs[id].at?;
        let unit = self.units[unit].as_ref()?;
        if let Some(loaded) = &unit.code {
            let map = loaded.map();
            let sources = debuginfo::Sources {
                files: vec![(unit.file.name.as_str(), unit.file.text.as_str())],
                func_file: Vec::new(),
            };
            let rows = map.debug.as_ref().map_or(&[][..], |t| &t.lines[..]);
            let view = map
                .debug
                .is_some()
                .then(|| crate::disasm::SourceView::new(rows, &sources, colour));
            return Some(crate::disasm::disassemble_with(
                loaded.code(),
                loaded.base_address(),
                &map.symbols(),
                &map.func_symbol(local)?,
                view.as_ref(),
            ));
        }
        let options = codegen::Options {
            function_table: Some(0),
            ..codegen::Options::default()
        };
        let artifact = codegen::compile_with(&unit.program, options);
        Some(crate::disasm::disassemble(
            &artifact.code,
            0,
            &artifact.map.symbols(),
            &artifact.map.func_symbol(local)?,
        ))
    }
}

/// The [`GlobalId`]s of the functions that function `local` of `program`
/// calls.
fn callees(program: &ir::CheckedProgram, local: FuncId) -> Vec<GlobalId> {
    let mut out: Vec<GlobalId> = program.funcs[local]
        .body
        .callees()
        .filter_map(|func| program.funcs[func].link.id())
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(session: &mut Session, text: &str) -> Vec<Reply> {
        let outcome = session.eval("<test>", text, None);
        assert!(outcome.failure.is_none(), "{text}: {:?}", outcome.failure);
        outcome.replies
    }

    #[test]
    fn redefinition_is_seen_by_earlier_callers() {
        let mut session = Session::new();
        values(&mut session, "fn f(x) = x + 1");
        values(&mut session, "fn g(x) = f(x) * 10");
        assert_eq!(values(&mut session, "g(1)"), [Reply::Value(20)]);
        let replies = values(&mut session, "fn f(x) = x + 2; g(1)");
        assert_eq!(
            replies,
            [
                Reply::Defined {
                    signature: "f(x)".into(),
                    redefined: true,
                    undefined: Vec::new(),
                },
                Reply::Value(30)
            ]
        );
    }

    #[test]
    fn a_failed_entry_changes_nothing() {
        let mut session = Session::new();
        values(&mut session, "fn f(x) = x + 1");
        let outcome = session.eval("<test>", "fn f(x) = x / 0; f(1)", None);
        assert!(matches!(outcome.failure, Some(Failure::Errors { .. })));
        assert_eq!(values(&mut session, "f(1)"), [Reply::Value(2)]);
        let outcome = session.eval("<test>", "fn f(x) = y", None);
        assert!(outcome.failure.is_some());
        assert_eq!(values(&mut session, "f(1)"), [Reply::Value(2)]);
    }

    #[test]
    fn arity_changes_that_break_callers_are_refused() {
        let mut session = Session::new();
        values(&mut session, "fn f(x) = x; fn g() = f(1)");
        let outcome = session.eval("<test>", "fn f(x, y) = x + y", None);
        let Some(Failure::Errors { diagnostics, .. }) = outcome.failure else {
            panic!("accepted")
        };
        assert!(
            diagnostics[0].message.contains("cannot change"),
            "{diagnostics:?}"
        );
        // Redefining the caller in the same entry is fine.
        values(&mut session, "fn f(x, y) = x + y; fn g() = f(1, 2)");
        assert_eq!(values(&mut session, "g()"), [Reply::Value(3)]);
    }

    #[test]
    fn runtime_errors_point_into_the_defining_entry() {
        let mut session = Session::new();
        values(&mut session, "fn f(x) = 1 / x");
        let outcome = session.eval("<second>", "f(0)", None);
        let Some(Failure::Errors { file, .. }) = outcome.failure else {
            panic!("no error")
        };
        assert_eq!(file.name, "<test>");
    }

    #[test]
    fn with_debug_info_a_replaced_entry_is_unregistered() {
        // (The only test of this binary that registers code.)
        let before = jit::gdb::registered_count();
        let mut session = Session::new();
        session.set_debug_info(true);
        values(&mut session, "fn f(x) = x + 1");
        assert_eq!(jit::gdb::registered_count(), before + 1);
        values(&mut session, "fn f(x) = x + 2; f(1)");
        assert_eq!(jit::gdb::registered_count(), before + 1);
        let listing = session.disassemble("f", false).unwrap();
        assert!(
            listing.contains("; <test>:1 │ fn f(x) = x + 2; f(1)"),
            "{listing}"
        );
        session.reset();
        assert_eq!(jit::gdb::registered_count(), before);
    }

    #[test]
    fn reset_forgets_everything() {
        let mut session = Session::new();
        values(&mut session, "fn f() = 1");
        assert!(session.disassemble("f", false).is_some());
        session.reset();
        assert_eq!(session.names().count(), 0);
        assert!(session.eval("<test>", "f()", None).failure.is_some());
    }
}
