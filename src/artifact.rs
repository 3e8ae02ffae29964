//! What the code generator hands on: position-independent machine code and
//! a [`CodeMap`] saying what is where in it (the entry trampoline, the trap
//! exit, each function, each trap site).
//!
//! This is plain data. `jit` loads it and `disasm`, the perf map and the
//! REPL's `:asm` read it, all without knowing how it was generated; only
//! `codegen` writes it.

use crate::abi::Reg;
use crate::ast::Span;
use crate::ir::CompactSpan;

/// The output of code generation for a whole program.
#[derive(Clone, Debug)]
pub struct Artifact {
    /// Position-independent machine code: trampoline, trap exit, functions.
    pub code: Vec<u8>,
    /// What is where in [`Self::code`].
    pub map: CodeMap,
}

/// An [`Artifact`] whose code is still in the pieces the code generator's
/// parts emitted it in: loading moves each piece into executable memory,
/// so a large program's code is never assembled in one buffer first (a
/// copy and a page fault per 4 KiB of it, on one thread).
#[derive(Clone, Debug)]
pub struct PiecedArtifact {
    /// The pieces, at increasing offsets; the bytes between and after
    /// them, up to `len`, are `int3` padding.
    pub pieces: Vec<CodePiece>,
    /// The length of the code.
    pub len: usize,
    pub map: CodeMap,
}

/// Bytes of code at an offset of the whole.
#[derive(Clone, Debug)]
pub struct CodePiece {
    pub offset: usize,
    pub bytes: Vec<u8>,
}

/// The byte that pads between functions: `int3`.
pub const PADDING: u8 = 0xCC;

impl PiecedArtifact {
    /// The code in one buffer: the [`Artifact`] of the same program.
    pub fn into_artifact(self) -> Artifact {
        let mut pieces = self.pieces.into_iter();
        let mut code = pieces.next().map_or_else(Vec::new, |first| {
            debug_assert_eq!(first.offset, 0);
            first.bytes
        });
        code.reserve_exact(self.len - code.len());
        for piece in pieces {
            code.resize(piece.offset, PADDING);
            code.extend_from_slice(&piece.bytes);
        }
        code.resize(self.len, PADDING);
        Artifact { code, map: self.map }
    }
}

impl From<Artifact> for PiecedArtifact {
    fn from(artifact: Artifact) -> PiecedArtifact {
        PiecedArtifact {
            len: artifact.code.len(),
            pieces: vec![CodePiece {
                offset: 0,
                bytes: artifact.code,
            }],
            map: artifact.map,
        }
    }
}

/// The layout of an [`Artifact`]'s code; loaded programs keep it after the
/// bytes are copied into executable memory.
#[derive(Clone, Debug)]
pub struct CodeMap {
    /// Offset of the entry trampoline (`jit::runtime`'s `EnterFn`).
    pub enter: usize,
    /// Offset of the shared trap exit that every trap stub calls.
    pub trap_exit: usize,
    /// With a function table: offset of the code that the table's slot of
    /// a function not defined yet points at. A `call` through the table
    /// arrives with `r11` zero and its return address (the site) on the
    /// stack; a tail call's jump with the site's address in `r11`. It
    /// leaves through the trap exit.
    pub undefined: Option<usize>,
    /// Every function of the program, indexed by its `ir::FuncId`.
    pub funcs: Vec<FuncCode>,
    /// The functions' names, one after another (see [`FuncCode::name`]).
    pub names: String,
    /// Every trap site, sorted by offset.
    pub traps: Vec<TrapSite>,
    /// Each (function, callee) where the function's code has the callee's
    /// body expanded in it (inlined), directly or inside another
    /// expansion, sorted, each once: a REPL session compiles the function
    /// again when the callee is replaced. (One list, not one a function:
    /// most functions have none.)
    pub inlined: Vec<(u32, u32)>,
    /// The batch entries (for the library's `call_many`), by arity, between
    /// the trap exit and the first function; empty unless asked for.
    pub batch: Vec<BatchEntry>,

    /// The length of the code in bytes.
    pub code_len: usize,
    /// Source lines and call-frame rules, recorded only when debug info
    /// is asked for (`-g`).
    pub debug: Option<Box<DebugTables>>,
}

/// What debuggers and profilers need to see generated code as source:
/// which source each stretch of code computes, and where each
/// instruction's caller's frame is. Offsets are into the code, after
/// relaxation; both lists are sorted by offset.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DebugTables {
    /// From each row's offset up to the next row's, the code computes (a
    /// part of) the row's span.
    pub lines: Vec<LineRow>,
    /// From each row's offset up to the next row's, the frame is as the
    /// row's rule says. Every symbol's code starts with a row.
    pub frames: Vec<FrameRow>,
}

/// A row of the line table.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct LineRow {
    pub offset: usize,
    /// The function whose source the span is in (an inlined callee's
    /// inside its expansion; in the REPL, definitions come from different
    /// entries).
    pub func: usize,
    pub span: Span,
}

/// A row of the call-frame table.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct FrameRow {
    pub offset: usize,
    pub rule: FrameRule,
}

/// How to find the caller's frame at an instruction, as DWARF's call-frame
/// information says it: the canonical frame address (the caller's `rsp`
/// just before its `call`), where the return address is, and where each
/// register the code saves for its caller is.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct FrameRule {
    pub cfa: Cfa,
    pub return_address: Saved,
    /// The registers of [`SAVED_REGS`], in that order.
    pub saved: [Saved; SAVED_REGS.len()],
}

/// The registers generated code saves for its caller (the trampoline
/// saves `rbx` and `rbp`; functions the callee-saved registers they use).
pub const SAVED_REGS: [Reg; 5] = [Reg::Rbx, Reg::Rbp, Reg::R12, Reg::R13, Reg::R14];

/// The canonical frame address.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Cfa {
    /// `rsp + offset`.
    Rsp(i32),
    /// `rbp + offset`.
    Rbp(i32),
    /// `[reg + disp] + offset`: the trampoline's frame, on the Rust stack
    /// whose pointer it keeps in the context record while JIT code runs.
    Loaded { reg: Reg, disp: i32, offset: i32 },
}

/// Where the caller's value of a register (or the return address) is.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Saved {
    /// Untouched: the register still holds it.
    Same,
    /// In memory at `CFA + offset`.
    AtCfa(i32),
    /// Copied into another register.
    InReg(Reg),
    /// Gone: overwritten where the caller declared the register clobbered
    /// (a direct call's trap key, see `abi`).
    Lost,
}

impl FrameRule {
    /// The rule at a function's first instruction: the return address on
    /// top of the stack, every register as the caller left it.
    pub const ENTRY: FrameRule = FrameRule {
        cfa: Cfa::Rsp(8),
        return_address: Saved::AtCfa(-8),
        saved: [Saved::Same; SAVED_REGS.len()],
    };

    /// This rule with `reg`'s caller value at `saved` (registers outside
    /// [`SAVED_REGS`] are never saved and are ignored).
    pub const fn with_saved(mut self, reg: Reg, saved: Saved) -> FrameRule {
        let mut index = 0;
        while index < SAVED_REGS.len() {
            if SAVED_REGS[index] as u8 == reg as u8 {
                self.saved[index] = saved;
            }
            index += 1;
        }
        self
    }

    /// Where the caller's value of `reg` is ([`Saved::Same`] for registers
    /// outside [`SAVED_REGS`]).
    pub fn saved(&self, reg: Reg) -> Saved {
        SAVED_REGS
            .iter()
            .position(|&r| r == reg)
            .map_or(Saved::Same, |index| self.saved[index])
    }

    /// This rule with the canonical frame address `cfa`.
    pub const fn with_cfa(mut self, cfa: Cfa) -> FrameRule {
        self.cfa = cfa;
        self
    }
}

/// A count or an offset into the code, as the code map keeps it: `u32`,
/// since the code of a program is far below 4 GiB.
///
/// # Panics
/// If it is 4 Gi or more.
pub fn compact(n: usize) -> u32 {
    u32::try_from(n).expect("code under 4 GiB")
}

/// One function: its name and signature, and where its bytes (body and
/// trap stubs) are.
///
/// A large program has 100,000 of them, kept as long as its code: the
/// numbers are `u32` and the span compact, for a third of the size.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FuncCode {
    /// Where its name is in [`CodeMap::names`] ([`CodeMap::name`]): one
    /// string holds them all, as a name of its own was an allocation a
    /// function.
    pub name: std::ops::Range<u32>,
    /// The span of the name in its definition (stack overflows point here).
    pub name_span: CompactSpan,
    pub arity: u32,
    pub offset: u32,
    pub size: u32,
    /// Whether the function has no trap site: it makes no call (so it has
    /// no stack check and no loop, see [`crate::abi`]) and nothing in it
    /// can fail. Such a function reads no context and returns through its
    /// own epilogue, which lets the runtime call it without the trampoline.
    pub trap_free: bool,
    /// Whether the function can trap but has no frame and no trap site
    /// other than divisions: it makes no call, so it reads no context,
    /// and at each trap site `rsp` is at its return address, so the trap
    /// exit can return to a direct caller (`crate::abi`, "Direct calls").
    pub traps_return: bool,
    /// Where its argument loader starts, if it has one (library code, at
    /// most six parameters): code right before the function that loads
    /// the arguments from memory into their registers and falls into it
    /// (`crate::abi`, "Direct calls"), so that a call whose number of
    /// arguments is known only at run time needs no choice among lengths.
    /// Equal to `offset` for a function without parameters.
    pub loader: Option<u32>,
    /// Whether the function is only declared here (a REPL session's
    /// function of another entry, called through the function table): it
    /// has no code, and `offset` and `size` mean nothing.
    pub external: bool,
}

/// The loop that calls a function of `arity` parameters once per row.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct BatchEntry {
    pub arity: usize,
    pub offset: usize,
    pub size: usize,
    /// The return address of the trap call of its per-row limit check,
    /// which only an interrupt fails.
    pub check_trap: usize,
}

/// A place where generated code can trap.
///
/// A large program has one or more a function, kept as long as its code:
/// the numbers are `u32` (code, sources and function counts are far
/// below 4 Gi), which halves the list.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct TrapSite {
    /// The return address of the stub's call to the trap exit, as an offset
    /// into the code: the key the trap exit records.
    pub offset: u32,
    /// The function the trap site belongs to.
    pub func: u32,
    pub kind: TrapKind,
}

impl TrapSite {
    /// The site of function `func` whose key is `offset`.
    ///
    /// # Panics
    /// If either is 4 Gi or more.
    pub fn new(offset: usize, func: usize, kind: TrapKind) -> TrapSite {
        TrapSite {
            offset: compact(offset),
            func: compact(func),
            kind,
        }
    }
}

/// Why a trap fires.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum TrapKind {
    /// `/` or `%` with a zero divisor; the span is the operator.
    DivisionByZero { op_span: CompactSpan },
    /// The stack limit (or an interrupt, which raises it) was hit on entry
    /// to the trap site's function.
    StackOverflow,
    /// A call through the function table reached a function that is not
    /// defined yet: `callee` (an external function of this program), called
    /// at `span`. The site is the call's return address (or, for a tail
    /// call, the end of its jump; see [`CodeMap::undefined`]).
    UndefinedFunction { callee: u32, span: CompactSpan },
}

/// A named range of the generated code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Symbol {
    pub name: String,
    pub offset: usize,
    pub size: usize,
}

impl CodeMap {
    /// Every named piece of code in address order, for disassembly and the
    /// perf map: the trampoline, the trap exit, then each function.
    pub fn symbols(&self) -> Vec<Symbol> {
        let after_trap_exit = self
            .batch
            .first()
            .map(|b| b.offset)
            .or(self.funcs.first().map(|f| f.offset as usize))
            .unwrap_or(self.code_len);
        let mut symbols = vec![
            Symbol {
                name: "<entry trampoline>".to_owned(),
                offset: self.enter,
                size: self.trap_exit - self.enter,
            },
            Symbol {
                name: "<trap exit>".to_owned(),
                offset: self.trap_exit,
                size: after_trap_exit - self.trap_exit,
            },
        ];
        symbols.extend(self.batch.iter().map(|batch| Symbol {
            name: format!("<batch entry/{}>", batch.arity),
            offset: batch.offset,
            size: batch.size,
        }));
        for func in self.funcs.iter().filter(|func| !func.external) {
            if let Some(loader) = func.loader.filter(|&loader| loader < func.offset) {
                symbols.push(Symbol {
                    name: format!("<argument loader of {}>", self.name(func)),
                    offset: loader as usize,
                    size: (func.offset - loader) as usize,
                });
            }
            symbols.push(self.symbol(func));
        }
        symbols
    }

    /// The symbol of function `func`, if there is one.
    pub fn func_symbol(&self, func: usize) -> Option<Symbol> {
        self.funcs
            .get(func)
            .filter(|func| !func.external)
            .map(|func| self.symbol(func))
    }

    /// The name of `func`, one of [`Self::funcs`].
    pub fn name(&self, func: &FuncCode) -> &str {
        &self.names[func.name.start as usize..func.name.end as usize]
    }

    fn symbol(&self, func: &FuncCode) -> Symbol {
        Symbol {
            name: self.name(func).to_owned(),
            offset: func.offset as usize,
            size: func.size as usize,
        }
    }

    /// The batch entry for functions of `arity` parameters, if emitted.
    pub fn batch_entry(&self, arity: usize) -> Option<&BatchEntry> {
        self.batch.iter().find(|b| b.arity == arity)
    }

    /// The trap site whose stub call returns to `offset`.
    pub fn trap_at(&self, offset: usize) -> Option<&TrapSite> {
        let offset = u32::try_from(offset).ok()?;
        let index = self
            .traps
            .binary_search_by_key(&offset, |site| site.offset)
            .ok()?;
        Some(&self.traps[index])
    }
}

