//! How a session links its entries' code: the function table and the code
//! its slots of undefined functions point at, loading an entry's code,
//! redirecting replaced definitions' entries, compiling again what has
//! inlined copies of a replaced function, and finding where a trap fired.

use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use foldhash::fast::FixedState;

use super::{Failure, Patches, Session, Unit};
use crate::artifact::CodeMap;
use crate::diag::SourceFile;
use crate::ir::{self, FuncId, GlobalId};
use crate::jit::Fault;
use crate::jit::table::FunctionTable;
use crate::pipeline::{self, Timings};
use crate::{codegen, debuginfo, jit};

impl Session {
    /// Compiles again, from their source, the functions with inlined
    /// copies of a function that `program` replaces (other than those it
    /// replaces itself), each unit's as an entry of its own text with all
    /// but those definitions blanked out (so that its spans still point
    /// into that text). Compiled now, their calls go through the table.
    pub(super) fn recompile_dependents(
        &mut self,
        program: &ir::CheckedProgram,
    ) -> Result<(), Failure> {
        let replaced: HashSet<GlobalId, FixedState> = program
            .funcs
            .iter()
            .filter_map(|func| match func.link {
                ir::Link::Defined(id) if self.funcs.get(id).is_some_and(|f| f.at.is_some()) => {
                    Some(id)
                }
                _ => None,
            })
            .collect();
        let mut by_unit: HashMap<usize, Vec<FuncId>, FixedState> = HashMap::default();
        for id in &replaced {
            let Some(dependents) = self.inlined_into.remove(id) else {
                continue;
            };
            for (dependent, unit) in dependents {
                match self.funcs[dependent].at {
                    Some((at, local)) if at == unit && !replaced.contains(&dependent) => {
                        by_unit.entry(unit).or_default().push(local);
                    }
                    _ => {} // stale, or replaced by `program` itself
                }
            }
        }
        let mut units: Vec<(usize, Vec<FuncId>)> = by_unit.into_iter().collect();
        units.sort_unstable();
        for (unit, mut locals) in units {
            locals.sort_unstable();
            locals.dedup();
            let unit = self.units[unit].as_ref().expect("live");
            let text = blank_all_but(&unit.file.text, &unit.program, &locals);
            let file = Rc::clone(&unit.file);
            let outcome = self.eval_in(file, &text, None);
            if let Some(failure) = outcome.failure {
                return Err(match failure {
                    Failure::Errors { .. } => Failure::System(
                        "cannot compile again the functions with inlined copies of a \
                         replaced one"
                            .to_owned(),
                    ),
                    other => other,
                });
            }
        }
        Ok(())
    }

    /// Makes the table and the code for undefined functions on the JIT's
    /// first entry, and gives code to the units that the interpreter ran.
    pub(super) fn prepare_jit(&mut self) -> std::io::Result<()> {
        if self.table.is_none() {
            self.table = Some(FunctionTable::new()?);
        }
        if self.undefined.is_none() {
            let empty = ir::CheckedProgram::default();
            self.undefined = Some(self.load_code(&empty, None, true, &mut Timings::default())?);
        }
        let compiled = self.codeless_units > 0;
        for index in 0..self.units.len() {
            if self.codeless_units == 0 {
                break;
            }
            let Some(unit) = &self.units[index] else {
                continue;
            };
            if unit.code.is_some() {
                continue;
            }
            let (program, file) = (Rc::clone(&unit.program), Rc::clone(&unit.file));
            // Later entries may have replaced some of its functions: an
            // inlined copy of one would not see that.
            let mut code = self.load(&program, &file, false, &mut Timings::default())?;
            // Its functions that later entries replaced are redirected, as
            // they would have been had it had code then.
            let table = self.table.as_ref().expect("made above").address();
            for (local, func) in program.funcs.iter().enumerate() {
                if let ir::Link::Defined(id) = func.link
                    && self.funcs[id].at != Some((index, local))
                {
                    code.patch_entry(local, &codegen::redirect(table + 8 * id as u64))?;
                }
            }
            self.units[index].as_mut().expect("live").code = Some(code);
            self.codeless_units -= 1;
        }
        if compiled {
            // The interpreter ran the entries since the JIT last did: every
            // slot is set again from where the definitions are now.
            let undefined = self.undefined_address();
            let table = self.table.as_mut().expect("made above");
            for (id, func) in self.funcs.iter().enumerate() {
                let entry = match func.at {
                    Some((unit, local)) => {
                        let unit = self.units[unit].as_ref().expect("live");
                        unit.code
                            .as_ref()
                            .expect("compiled above")
                            .entry_address(local)
                    }
                    None => undefined,
                };
                table.set(id, entry);
            }
        }
        Ok(())
    }

    /// The address the table's slot of a function not defined yet holds.
    pub(super) fn undefined_address(&self) -> u64 {
        let undefined = self.undefined.as_ref().expect("made by prepare_jit");
        undefined
            .undefined_address()
            .expect("compiled with a table")
    }

    /// Generates and loads the code of `program`, an entry from `file`
    /// (registered with debuggers if debug info is on).
    /// With `inline` off, no call is expanded in place.
    pub(super) fn load(
        &mut self,
        program: &ir::CheckedProgram,
        file: &SourceFile,
        inline: bool,
        timings: &mut Timings,
    ) -> std::io::Result<jit::LoadedProgram> {
        // Debuggers get each entry as a file of its own, so that `list`
        // shows it.
        let path = self.debug_info.then(|| self.entry_files.path_of(file));
        let sources = path.as_deref().map(|path| debuginfo::Sources {
            files: vec![(path, file.text.as_str())],
            func_file: Vec::new(),
        });
        self.load_code(program, sources.as_ref(), inline, timings)
    }

    pub(super) fn load_code(
        &self,
        program: &ir::CheckedProgram,
        sources: Option<&debuginfo::Sources>,
        inline: bool,
        timings: &mut Timings,
    ) -> std::io::Result<jit::LoadedProgram> {
        let table = self.table.as_ref().map(FunctionTable::address);
        pipeline::back_end_linked(program, table, inline, sources, timings)
    }

    /// Makes the entries of the definitions that `program` replaces jump to
    /// their table slots: callers in their own entry call them directly.
    /// Returns what each patch replaced (on an error, with the patches
    /// made so far).
    #[allow(clippy::type_complexity)]
    pub(super) fn redirect_replaced(
        &mut self,
        program: &ir::CheckedProgram,
    ) -> Result<Vec<(usize, FuncId, Vec<u8>)>, (std::io::Error, Vec<(usize, FuncId, Vec<u8>)>)>
    {
        let mut patched = Vec::new();
        let Some(table) = self.table.as_ref().map(FunctionTable::address) else {
            // The JIT has not run: no code to redirect.
            return Ok(patched);
        };
        for func in &program.funcs {
            let ir::Link::Defined(id) = func.link else {
                continue;
            };
            let Some((unit, local)) = self.funcs.get(id).and_then(|f| f.at) else {
                continue;
            };
            // A unit the interpreter ran has no code yet; when it gets
            // some, its calls are compiled against the table as it is then.
            let old = self.units[unit].as_mut().expect("live");
            let Some(old_code) = old.code.as_mut() else {
                continue;
            };
            match old_code.patch_entry(local, &codegen::redirect(table + 8 * id as u64)) {
                Ok(bytes) => patched.push((unit, local, bytes)),
                Err(error) => return Err((error, patched)),
            }
        }
        Ok(patched)
    }

    /// Puts back the table slots and the entries of replaced definitions
    /// that a failed entry changed.
    pub(super) fn undo(&mut self, saved: &[(GlobalId, u64)], patched: &Patches) {
        if let Some(table) = self.table.as_mut() {
            for &(id, entry) in saved.iter().rev() {
                table.set(id, entry);
            }
        }
        for (unit, local, bytes) in patched {
            let code = self.units[*unit].as_mut().and_then(|u| u.code.as_mut());
            // Failing to put the old bytes back leaves the entry jumping
            // to the table, whose slot is restored: the same function.
            let _ = code.expect("patched above").patch_entry(*local, bytes);
        }
    }

    /// The failure for a trap at `address`: in this entry's `code`, or in
    /// an earlier entry's, whose source the error then points into.
    pub(super) fn trap_failure(
        &self,
        address: usize,
        code: &jit::LoadedProgram,
        file: &Rc<SourceFile>,
    ) -> Failure {
        if let Some(fault) = code.fault_at_address(address) {
            return self.runtime_failure(fault, file);
        }
        for unit in self.units.iter().flatten() {
            let fault = unit.code.as_ref().and_then(|c| c.fault_at_address(address));
            if let Some(fault) = fault {
                return match fault {
                    Fault::Interrupted => Failure::Interrupted,
                    fault => self.runtime_failure(fault, &unit.file),
                };
            }
        }
        Failure::System(format!("a trap at an unknown address {address:#x}"))
    }

    /// Notes, for each function that `map` (the code of `program`, unit
    /// `unit`) has inlined copies of, which live functions hold them.
    pub(super) fn record_inlining(
        &mut self,
        unit: usize,
        program: &ir::CheckedProgram,
        map: &CodeMap,
    ) {
        for &(local, callee) in &map.inlined {
            let ir::Link::Defined(id) = program.funcs[local as usize].link else {
                continue;
            };
            if let ir::Link::Defined(callee) = program.funcs[callee as usize].link {
                self.inlined_into
                    .entry(callee)
                    .or_default()
                    .push((id, unit));
            }
        }
    }

    pub(super) fn unit_of_program(&self, program: &ir::CheckedProgram) -> Option<&Unit> {
        self.units
            .iter()
            .flatten()
            .find(|unit| std::ptr::eq(&*unit.program, program))
    }
}

/// `text` with every byte outside the definitions `locals` of `program`
/// (checked from it) blanked, newlines kept: their text, at the same
/// places.
fn blank_all_but(text: &str, program: &ir::CheckedProgram, locals: &[FuncId]) -> String {
    let mut out: Vec<u8> = text
        .bytes()
        .map(|b| if b == b'\n' { b'\n' } else { b' ' })
        .collect();
    for &local in locals {
        let span = program.funcs[local].def_span;
        // The definition starts at the `fn` before its name.
        let start = text[..span.start].trim_end().len().saturating_sub(2);
        out[start..span.end].copy_from_slice(&text.as_bytes()[start..span.end]);
    }
    // Only whole definitions were copied, and blanks are ASCII.
    String::from_utf8(out).expect("valid UTF-8")
}
