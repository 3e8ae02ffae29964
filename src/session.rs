//! An interactive session: definitions that accumulate over entries, each
//! entry compiled and run at once.
//!
//! Every entry recompiles the session's definitions together with the entry
//! into one fresh module, and the previous module is dropped (unmapped).
//! That keeps redefinition simple and exact: a redefined function keeps its
//! [`FuncId`], so earlier callers are compiled against the new body, and
//! memory stays proportional to the live definitions however often they
//! change. The price is recompiling every definition per entry, which at
//! the compiler's speed is invisible for hand-typed sessions.
//!
//! An entry is all or nothing: if it fails to compile or a runtime error
//! stops it, the session keeps its previous definitions.

use std::rc::Rc;
use std::time::{Duration, Instant};

use crate::debuginfo;
use crate::diag::{Diagnostics, SourceFile};
use crate::ir::{self, FuncId};
use crate::jit::{self, Fault, LimitInterrupt};
use crate::pipeline::{self, Backend, Runner, Timings};

/// What an entry produced, item by item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// A function was defined (or replaced an earlier one of that name).
    Defined { signature: String, redefined: bool },
    /// A top-level expression's value.
    Value(i64),
}

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
    /// Every live definition; a function's [`FuncId`] is its index.
    defs: Vec<ir::Func>,
    /// The entry each definition came from, to render its diagnostics.
    def_sources: Vec<Rc<SourceFile>>,
    /// The code of the last successful entry, kept for disassembly (when
    /// the JIT ran it).
    loaded: Option<jit::LoadedProgram>,
    /// With debug info: the entries the loaded code's functions come
    /// from, and which function is in which (for `:asm`'s source lines).
    loaded_files: Option<(Vec<Rc<SourceFile>>, Vec<usize>)>,
    /// What runs the entries.
    backend: Backend,
    /// Register each entry's code with debuggers (`-g`).
    debug_info: bool,
    /// With debug info, the entries written out for debuggers.
    entry_files: EntryFiles,
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

impl Session {
    pub fn new() -> Session {
        Session::default()
    }

    /// Compiles and runs one entry named `name` (e.g. `<entry 3>`).
    pub fn eval(&mut self, name: &str, text: &str, interrupt: Option<&LimitInterrupt>) -> Outcome {
        let file = Rc::new(SourceFile::new(name, text));
        let mut outcome = Outcome {
            replies: Vec::new(),
            failure: None,
            timings: Timings::default(),
            run: Duration::ZERO,
        };
        let program = match pipeline::front_end(text, &self.defs, &mut outcome.timings) {
            Ok(program) => program,
            Err(diagnostics) => {
                outcome.failure = Some(Failure::Errors { file, diagnostics });
                return outcome;
            }
        };
        let files = self.debug_info.then(|| self.debug_files(&program, &file));
        // Debuggers get each entry as a file of its own, so that `list`
        // shows it.
        let paths: Vec<String> = files.as_ref().map_or_else(Vec::new, |(files, _)| {
            files.iter().map(|f| self.entry_files.path_of(f)).collect()
        });
        let sources = files.as_ref().map(|(files, func_file)| debuginfo::Sources {
            files: files
                .iter()
                .zip(&paths)
                .map(|(f, path)| (path.as_str(), f.text.as_str()))
                .collect(),
            func_file: func_file.clone(),
        });
        let runner = Runner::with_debug(
            &program,
            self.backend,
            sources.as_ref(),
            &mut outcome.timings,
        );
        let runner = match runner {
            Ok(runner) => runner,
            Err(error) => {
                outcome.failure = Some(Failure::System(format!(
                    "cannot map executable memory: {error}"
                )));
                return outcome;
            }
        };
        let start = Instant::now();
        for item in &program.items {
            match *item {
                ir::Item::Def(id) => outcome.replies.push(Reply::Defined {
                    signature: program.funcs[id].signature.clone(),
                    redefined: id < self.defs.len(),
                }),
                ir::Item::Expr(id) => match runner.call(id, &[], interrupt) {
                    Ok(Ok(value)) => outcome.replies.push(Reply::Value(value)),
                    Ok(Err(error)) => {
                        outcome.failure = Some(self.runtime_failure(&program, &file, error));
                        break;
                    }
                    Err(error) => {
                        outcome.failure = Some(Failure::System(format!(
                            "cannot allocate the JIT stack: {error}"
                        )));
                        break;
                    }
                },
            }
        }
        outcome.run = start.elapsed();
        if outcome.failure.is_none() {
            self.loaded = runner.into_jit();
            self.loaded_files = files;
            self.commit(program, &file);
        }
        outcome
    }

    /// The entries the functions of `program` come from (this one, `file`,
    /// and earlier ones for definitions it does not replace), and which
    /// function is in which.
    fn debug_files(
        &self,
        program: &ir::CheckedProgram,
        file: &Rc<SourceFile>,
    ) -> (Vec<Rc<SourceFile>>, Vec<usize>) {
        let mut files = vec![Rc::clone(file)];
        let mut func_file = Vec::with_capacity(program.funcs.len());
        for id in 0..program.funcs.len() {
            let replaced = program.items.contains(&ir::Item::Def(id));
            let source = match self.def_sources.get(id) {
                Some(source) if !replaced => source,
                _ => file,
            };
            let index = match files.iter().position(|f| Rc::ptr_eq(f, source)) {
                Some(index) => index,
                None => {
                    files.push(Rc::clone(source));
                    files.len() - 1
                }
            };
            func_file.push(index);
        }
        (files, func_file)
    }

    /// Keeps the definitions of a successful entry.
    fn commit(&mut self, mut program: ir::CheckedProgram, file: &Rc<SourceFile>) {
        let defined_here: Vec<FuncId> = program
            .items
            .iter()
            .filter_map(|item| match item {
                ir::Item::Def(id) => Some(*id),
                ir::Item::Expr(_) => None,
            })
            .collect();
        let def_count = program.funcs.len() - program.top_level.len();
        program.funcs.truncate(def_count);
        self.defs = program.funcs;
        self.def_sources.resize(def_count, Rc::clone(file));
        for id in defined_here {
            self.def_sources[id] = Rc::clone(file);
        }
    }

    fn runtime_failure(
        &self,
        program: &ir::CheckedProgram,
        file: &Rc<SourceFile>,
        error: Fault,
    ) -> Failure {
        if error == Fault::Interrupted {
            return Failure::Interrupted;
        }
        // The error points into the source of the function it happened in:
        // this entry, unless an earlier definition not replaced here.
        let from_earlier_entry = error
            .func()
            .filter(|&id| id < self.defs.len() && !program.items.contains(&ir::Item::Def(id)));
        let file = match from_earlier_entry {
            Some(id) => Rc::clone(&self.def_sources[id]),
            None => Rc::clone(file),
        };
        Failure::Errors {
            file,
            diagnostics: error.to_diagnostic().into(),
        }
    }

    /// The signatures of all definitions, in definition order.
    pub fn signatures(&self) -> impl Iterator<Item = &str> {
        self.defs.iter().map(|f| f.signature.as_str())
    }

    /// The names of all definitions.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.defs.iter().map(|f| f.name.as_str())
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

    /// The disassembly of function `name`, if it is defined. When the
    /// interpreter ran the last entry there is no loaded code, so the
    /// definitions are compiled just for display (at address 0).
    ///
    /// With debug info on (`-g`), each run of instructions is headed by the
    /// source line it computes, in colour if `colour`.
    pub fn disassemble(&self, name: &str, colour: bool) -> Option<String> {
        let id = self.defs.iter().position(|f| f.name == name)?;
        if let Some(loaded) = &self.loaded {
            let map = loaded.map();
            let sources = self
                .loaded_files
                .as_ref()
                .map(|(files, func_file)| debuginfo::Sources {
                    files: files
                        .iter()
                        .map(|f| (f.name.as_str(), f.text.as_str()))
                        .collect(),
                    func_file: func_file.clone(),
                });
            let rows = map.debug.as_ref().map_or(&[][..], |t| &t.lines[..]);
            let view = sources
                .as_ref()
                .map(|sources| crate::disasm::SourceView::new(rows, sources, colour));
            return Some(crate::disasm::disassemble_with(
                loaded.code(),
                loaded.base_address(),
                &map.symbols(),
                &map.func_symbol(id)?,
                view.as_ref(),
            ));
        }
        let program = ir::CheckedProgram {
            funcs: self.defs.clone(),
            ..ir::CheckedProgram::default()
        };
        let artifact = crate::codegen::compile(&program);
        Some(crate::disasm::disassemble(
            &artifact.code,
            0,
            &artifact.map.symbols(),
            &artifact.map.func_symbol(id)?,
        ))
    }
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
                    redefined: true
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
