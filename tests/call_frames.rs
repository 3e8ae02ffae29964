//! The call-frame rows the code generator records for debug info (`-g`)
//! must be right at every instruction: wrong call-frame information is
//! worse than none (a debugger's backtrace goes astray, or a profiler's
//! unwinding). This test checks them against an independent reading of the
//! code: it decodes every symbol with iced-x86 and follows every path
//! through it, tracking how far `rsp` (and `rbp`, once it is a frame
//! pointer) is below the canonical frame address, and where the return
//! address and the caller's `rbx`, `rbp`, `r12`-`r14` are. At every
//! instruction boundary reached, the row in force must say the same.
//!
//! Programs: the golden tests, the examples, stress programs reaching the
//! frame's corners (large frames, many stack arguments, tail calls that
//! change their number, accumulating loops) and random programs from the
//! shared generator (`testgen`).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use exprjit::abi::{CTX_SAVED_RSP, stack_arg_count};
use exprjit::artifact::{Artifact, Cfa, FrameRule, SAVED_REGS, Saved};
use exprjit::codegen::{self, Options};
use exprjit::pipeline::{self, Timings};
use iced_x86::{
    Code, Decoder, DecoderOptions, Instruction, InstructionInfoFactory, Mnemonic, OpAccess, OpKind,
    Register,
};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

/// A place a value can be: a register, or the stack word at CFA + offset.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Loc {
    Reg(Register),
    Stack(i32),
}

/// The values whose places the rows describe: the return address, then
/// the caller's values of [`SAVED_REGS`].
const VALUES: usize = 1 + SAVED_REGS.len();

/// What is known at an instruction boundary on every path to it.
#[derive(Clone, Debug, PartialEq, Eq)]
struct State {
    /// CFA - rsp, if known.
    rsp: Option<i32>,
    /// CFA - rbp, if `rbp` was set from `rsp`.
    rbp: Option<i32>,
    /// Where each of the values is (all the places holding it).
    places: [BTreeSet<Loc>; VALUES],
}

impl State {
    fn entry() -> State {
        let mut places: [BTreeSet<Loc>; VALUES] = Default::default();
        places[0].insert(Loc::Stack(-8));
        for (index, &reg) in SAVED_REGS.iter().enumerate() {
            places[index + 1].insert(Loc::Reg(iced(reg)));
        }
        State {
            rsp: Some(8),
            rbp: None,
            places,
        }
    }

    /// What holds on both `self`'s paths and `other`'s.
    fn join(&self, other: &State) -> State {
        let agree = |a: Option<i32>, b: Option<i32>| if a == b { a } else { None };
        let mut places = self.places.clone();
        for (mine, theirs) in places.iter_mut().zip(&other.places) {
            mine.retain(|loc| theirs.contains(loc));
        }
        State {
            rsp: agree(self.rsp, other.rsp),
            rbp: agree(self.rbp, other.rbp),
            places,
        }
    }

    fn holding(&self, loc: Loc) -> Vec<usize> {
        (0..VALUES)
            .filter(|&v| self.places[v].contains(&loc))
            .collect()
    }

    /// `to` now holds what `from` held (and nothing else).
    fn copy(&mut self, from: Option<Loc>, to: Loc) {
        let held = from.map(|from| self.holding(from)).unwrap_or_default();
        self.clobber(to);
        for v in held {
            self.places[v].insert(to);
        }
    }

    fn clobber(&mut self, loc: Loc) {
        for places in &mut self.places {
            places.remove(&loc);
        }
    }

    /// The stack word an operand `[base + disp]` is, if it is one we know.
    fn stack_word(&self, base: Register, disp: i64) -> Option<Loc> {
        let depth = match base {
            Register::RSP => self.rsp?,
            Register::RBP => self.rbp?,
            _ => return None,
        };
        Some(Loc::Stack(disp as i32 - depth))
    }
}

fn iced(reg: exprjit::abi::Reg) -> Register {
    const REGS: [Register; 16] = [
        Register::RAX,
        Register::RCX,
        Register::RDX,
        Register::RBX,
        Register::RSP,
        Register::RBP,
        Register::RSI,
        Register::RDI,
        Register::R8,
        Register::R9,
        Register::R10,
        Register::R11,
        Register::R12,
        Register::R13,
        Register::R14,
        Register::R15,
    ];
    REGS[reg as usize]
}

/// The registers a call may change (System V's caller-saved ones).
const CALLER_SAVED: [Register; 9] = [
    Register::RAX,
    Register::RCX,
    Register::RDX,
    Register::RSI,
    Register::RDI,
    Register::R8,
    Register::R9,
    Register::R10,
    Register::R11,
];

/// The code of one compiled program and its call-frame rows.
struct Image<'a> {
    artifact: &'a Artifact,
    /// The rows, by offset.
    rows: BTreeMap<usize, FrameRule>,
    /// The trampoline's state right after it saved `rsp` in the context:
    /// what `mov rsp, [... + saved_rsp]` returns to.
    switched: Option<State>,
}

impl Image<'_> {
    /// Problems with the rows of the symbol at `start..end`.
    fn check_symbol(&mut self, name: &str, start: usize, end: usize) -> Vec<String> {
        let code = &self.artifact.code[start..end];
        let mut decoder = Decoder::with_ip(64, code, start as u64, DecoderOptions::NONE);
        let mut instructions = BTreeMap::new();
        for instruction in decoder.iter() {
            instructions.insert(instruction.ip() as usize, instruction);
        }
        let mut problems = Vec::new();
        if !self.rows.contains_key(&start) {
            problems.push(format!("{name}: no row at its start"));
        }
        let mut states: BTreeMap<usize, State> = BTreeMap::new();
        states.insert(start, State::entry());
        let mut work = vec![start];
        let mut info = InstructionInfoFactory::new();
        while let Some(at) = work.pop() {
            let state = states[&at].clone();
            // An argument loader falls into its function, which is checked
            // as a symbol of its own from the entry state.
            if at == end && name.starts_with("<argument loader") {
                if state != State::entry() {
                    problems.push(format!(
                        "{name}: falls into its function with the stack moved"
                    ));
                }
                continue;
            }
            let Some(instruction) = instructions.get(&at) else {
                problems.push(format!("{name}+{:#x}: not an instruction", at - start));
                continue;
            };
            let (after, successors) = self.step(instruction, state, &mut info, start..end);
            for next in successors {
                let merged = match states.get(&next) {
                    Some(old) => old.join(&after),
                    None => after.clone(),
                };
                if states.get(&next) != Some(&merged) {
                    states.insert(next, merged);
                    work.push(next);
                }
            }
        }
        for (&at, state) in &states {
            let Some((_, rule)) = self.rows.range(start..=at).next_back() else {
                continue;
            };
            if let Some(problem) = compare(rule, state, self.switched.as_ref()) {
                let text = instructions.get(&at).map(|i| i.to_string());
                problems.push(format!(
                    "{name}+{:#x} (`{}`): {problem}\n  rule {rule:?}\n  state {state:?}",
                    at - start,
                    text.unwrap_or_default()
                ));
            }
        }
        problems
    }

    /// The state after `instruction` and the offsets control goes to.
    fn step(
        &mut self,
        instruction: &Instruction,
        mut state: State,
        info: &mut InstructionInfoFactory,
        symbol: std::ops::Range<usize>,
    ) -> (State, Vec<usize>) {
        let next = instruction.next_ip() as usize;
        let memory = |i: &Instruction| (i.memory_base(), i.memory_displacement64() as i64);
        let reg0 = instruction.op0_register();
        let reg1 = instruction.op1_register();
        let op = |n| instruction.op_kind(n);
        match instruction.mnemonic() {
            Mnemonic::Push if op(0) == OpKind::Register => {
                state.rsp = state.rsp.map(|d| d + 8);
                let to = state.stack_word(Register::RSP, 0);
                if let Some(to) = to {
                    state.copy(Some(Loc::Reg(reg0)), to);
                }
                return (state, vec![next]);
            }
            Mnemonic::Pop if op(0) == OpKind::Register => {
                let from = state.stack_word(Register::RSP, 0);
                state.copy(from, Loc::Reg(reg0));
                state.rsp = state.rsp.map(|d| d - 8);
                if reg0 == Register::RBP {
                    state.rbp = None;
                }
                return (state, vec![next]);
            }
            Mnemonic::Sub | Mnemonic::Add if reg0 == Register::RSP && op(1) != OpKind::Register => {
                let imm = instruction.immediate(1) as i64 as i32;
                let sign = if instruction.mnemonic() == Mnemonic::Sub {
                    1
                } else {
                    -1
                };
                state.rsp = state.rsp.map(|d| d + sign * imm);
                return (state, vec![next]);
            }
            Mnemonic::Lea if reg0 == Register::RSP || reg0 == Register::RBP => {
                let (base, disp) = memory(instruction);
                let depth = match base {
                    Register::RSP => state.rsp,
                    Register::RBP => state.rbp,
                    _ => None,
                }
                .map(|d| d - disp as i32);
                if reg0 == Register::RSP {
                    state.rsp = depth;
                } else {
                    state.clobber(Loc::Reg(Register::RBP));
                    state.rbp = depth;
                }
                return (state, vec![next]);
            }
            Mnemonic::Mov if op(0) == OpKind::Register && op(1) == OpKind::Register => {
                match (reg0, reg1) {
                    (Register::RBP, Register::RSP) => {
                        state.clobber(Loc::Reg(Register::RBP));
                        state.rbp = state.rsp;
                    }
                    (Register::RSP, Register::RBP) => state.rsp = state.rbp,
                    // Onto the JIT stack (the trampoline, a batch entry).
                    (Register::RSP, _) => state.rsp = None,
                    (to, from) => {
                        if to == Register::RBP {
                            state.rbp = None;
                        }
                        state.copy(Some(Loc::Reg(from)), Loc::Reg(to));
                    }
                }
                return (state, vec![next]);
            }
            Mnemonic::Mov if op(0) == OpKind::Memory && op(1) == OpKind::Register => {
                let (base, disp) = memory(instruction);
                if base == Register::R15 && disp == CTX_SAVED_RSP as i64 && reg1 == Register::RSP {
                    self.switched = Some(state.clone());
                }
                if let Some(to) = state.stack_word(base, disp) {
                    state.copy(Some(Loc::Reg(reg1)), to);
                }
                return (state, vec![next]);
            }
            Mnemonic::Mov if op(0) == OpKind::Register && op(1) == OpKind::Memory => {
                let (base, disp) = memory(instruction);
                if reg0 == Register::RSP {
                    // Back to the Rust stack, from the context.
                    assert_eq!(disp, CTX_SAVED_RSP as i64, "{instruction}");
                    let switched = self.switched.clone().expect("the trampoline saved rsp");
                    return (switched, vec![next]);
                }
                let from = state.stack_word(base, disp);
                if reg0 == Register::RBP {
                    state.rbp = None;
                }
                state.copy(from, Loc::Reg(reg0));
                return (state, vec![next]);
            }
            Mnemonic::Ret | Mnemonic::Int3 => return (state, vec![]),
            Mnemonic::Jmp if op(0) != OpKind::NearBranch64 => return (state, vec![]),
            Mnemonic::Jmp => {
                let target = instruction.near_branch_target() as usize;
                let inside = symbol.contains(&target);
                return (state, if inside { vec![target] } else { vec![] });
            }
            Mnemonic::Call => {
                let map = &self.artifact.map;
                if op(0) == OpKind::NearBranch64 {
                    let target = instruction.near_branch_target() as usize;
                    if target == map.trap_exit {
                        return (state, vec![]);
                    }
                    // The callee pops its stack arguments.
                    let callee = map.funcs.iter().find(|f| f.offset as usize == target);
                    let popped =
                        8 * stack_arg_count(callee.expect("calls a function").arity as usize);
                    state.rsp = state.rsp.map(|d| d - popped as i32);
                }
                for reg in CALLER_SAVED {
                    state.clobber(Loc::Reg(reg));
                }
                let below = state.rsp;
                for places in &mut state.places {
                    places.retain(
                        |loc| !matches!((loc, below), (Loc::Stack(at), Some(d)) if *at < -d),
                    );
                }
                return (state, vec![next]);
            }
            _ => {}
        }
        let mut successors = vec![next];
        if instruction.is_jcc_short_or_near() {
            successors.push(instruction.near_branch_target() as usize);
        }
        // Anything else: what it writes loses what it held.
        let used = info.info(instruction);
        for reg in used.used_registers() {
            if matches!(
                reg.access(),
                OpAccess::Read | OpAccess::CondRead | OpAccess::None
            ) {
                continue;
            }
            let full = reg.register().full_register();
            match full {
                Register::RSP => state.rsp = None,
                Register::RBP => state.rbp = None,
                _ => {}
            }
            state.clobber(Loc::Reg(full));
        }
        for mem in used.used_memory() {
            if matches!(
                mem.access(),
                OpAccess::Read | OpAccess::CondRead | OpAccess::None
            ) {
                continue;
            }
            if let Some(loc) = state.stack_word(mem.base(), mem.displacement() as i64) {
                state.clobber(loc);
            }
        }
        assert!(
            !matches!(instruction.code(), Code::INVALID),
            "invalid instruction"
        );
        (state, successors)
    }
}

/// What is wrong with `rule` where the code is in `state`, if anything.
fn compare(rule: &FrameRule, state: &State, switched: Option<&State>) -> Option<String> {
    let cfa_ok = match rule.cfa {
        Cfa::Rsp(k) => state.rsp == Some(k),
        Cfa::Rbp(k) => state.rbp == Some(k),
        Cfa::Loaded { disp, offset, .. } => {
            disp == CTX_SAVED_RSP && switched.and_then(|s| s.rsp) == Some(offset)
        }
    };
    if !cfa_ok {
        return Some("the CFA is elsewhere".into());
    }
    // While on the JIT stack, the trampoline's frame is the one it saved.
    let places = match (rule.cfa, switched) {
        (Cfa::Loaded { .. }, Some(switched)) => &switched.places,
        _ => &state.places,
    };
    let claims = std::iter::once(rule.return_address).chain(rule.saved);
    for (index, claim) in claims.enumerate() {
        let loc = match claim {
            Saved::Same => Loc::Reg(iced(SAVED_REGS[index.max(1) - 1])),
            Saved::AtCfa(k) => Loc::Stack(k),
            Saved::InReg(reg) => Loc::Reg(iced(reg)),
            // Claims nothing, but only for a register the code overwrote.
            Saved::Lost if index > 0 => {
                let own = Loc::Reg(iced(SAVED_REGS[index - 1]));
                if places[index].contains(&own) {
                    return Some(format!(
                        "the caller's {:?} is called lost but is intact",
                        SAVED_REGS[index - 1]
                    ));
                }
                continue;
            }
            Saved::Lost => return Some("the return address is never lost".into()),
        };
        if index == 0 && claim == Saved::Same {
            return Some("the return address is never `same`".into());
        }
        if !places[index].contains(&loc) {
            let what = match index {
                0 => "the return address".to_owned(),
                n => format!("the caller's {:?}", SAVED_REGS[n - 1]),
            };
            return Some(format!("{what} is not at {loc:?}"));
        }
    }
    None
}

/// Compiles `source` with debug info and returns the problems with its
/// call-frame rows (empty if none; `None` if it does not compile).
fn problems(source: &str, batch_entries: bool) -> Option<Vec<String>> {
    let program = pipeline::front_end(source, &mut Timings::default()).ok()?;
    let options = Options {
        function_table: None,
        no_inlining: false,
        batch_entries,
        debug_info: true,
    };
    let artifact = codegen::compile_with(&program, options);
    // Debug info describes the code; it never changes it.
    let plain = codegen::compile_with(
        &program,
        Options {
            debug_info: false,
            ..options
        },
    );
    assert!(
        plain.code == artifact.code,
        "-g changed the code of:\n{source}"
    );
    let tables = artifact.map.debug.as_ref().expect("debug tables");
    let mut image = Image {
        artifact: &artifact,
        rows: tables.frames.iter().map(|r| (r.offset, r.rule)).collect(),
        switched: None,
    };
    let mut problems = Vec::new();
    // The trampoline first: the others return to the frame it saved.
    for symbol in artifact.map.symbols() {
        if symbol.size > 0 {
            let end = symbol.offset + symbol.size;
            problems.extend(image.check_symbol(&symbol.name, symbol.offset, end));
        }
    }
    Some(problems)
}

fn assert_rows_right(name: &str, source: &str) {
    for batch in [false, true] {
        let found = problems(source, batch).unwrap_or_default();
        assert!(found.is_empty(), "{name}:\n{}", found.join("\n"));
    }
}

/// Runs `body` on a thread with a stack for deeply nested programs.
fn with_big_stack(body: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .stack_size(pipeline::COMPILER_STACK_SIZE)
        .spawn(body)
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn rows_match_the_code_of_the_golden_tests_and_examples() {
    with_big_stack(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut checked = 0;
        for dir in ["tests/golden", "tests/golden/asm", "examples"] {
            let mut files: Vec<_> = std::fs::read_dir(root.join(dir))
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|e| e == "ex"))
                .collect();
            files.sort();
            for file in files {
                // (Some golden tests are not UTF-8 on purpose.)
                let Ok(source) = std::fs::read_to_string(&file) else {
                    continue;
                };
                assert_rows_right(&file.display().to_string(), &source);
                checked += 1;
            }
        }
        assert!(checked > 20, "only {checked} programs");
    });
}

#[test]
fn rows_match_the_code_of_frame_corners() {
    let params: Vec<String> = (0..14).map(|i| format!("p{i}")).collect();
    let ps = params.join(", ");
    let nums: Vec<String> = (1..=14).map(|i| i.to_string()).collect();
    let nums = nums.join(", ");
    let lets: String = (0..40)
        .map(|i| format!("let v{i} = x * {i} + {} in ", i * 37))
        .collect();
    let sum: Vec<String> = (0..40).map(|i| format!("v{i}")).collect();
    let big_frame: String = (0..2000)
        .map(|i| format!("let w{i} = f(x + {i}) in "))
        .collect();
    let big_sum: Vec<String> = (0..2000).map(|i| format!("w{i}")).collect();
    let programs = [
        format!("fn wide(x) = {lets}{}\nwide(3)\n", sum.join(" + ")),
        format!("fn many({ps}) = p0 - p13 * p7\nfn pass({ps}) = many({ps}) + many({ps})\npass({nums})\n"),
        // Tail calls that change the number of stack arguments, framed and not.
        format!("fn many({ps}) = p0 - p13\nfn few(a, b, c, d, e, f, g) = if a > 0 then many({ps2}) else g\nfn more({ps}) = few(p0, p1, p2, p3, p4, p5, p6)\nfn g(x) = few(x, 1, 2, 3, 4, 5, 6) + few(x, 2, 3, 4, 5, 6, 7)\ng(1)\nmore({nums})\n",
            ps2 = (0..14).map(|i| if i < 7 { ["a","b","c","d","e","f","g"][i].to_string() } else { i.to_string() }).collect::<Vec<_>>().join(", ")),
        "fn sum(n, acc) = if n == 0 then acc else sum(n - 1, acc + n)\nsum(10, 0)\n".into(),
        "fn tri(n) = if n == 0 then 0 else n + tri(n - 1)\ntri(10)\n".into(),
        "fn ack(m, n) = if m == 0 then n + 1 else if n == 0 then ack(m - 1, 1) else ack(m - 1, ack(m, n - 1))\nack(2, 3)\n".into(),
        "fn fib(n) = if n < 2 then n else fib(n - 1) + fib(n - 2)\nfn d(x, y) = x / y + x % y\nfib(10) + d(7, 2)\n".into(),
        format!("fn f(x) = x + 1\nfn big(x) = {big_frame}{}\nbig(1)\n", big_sum.join(" + ")),
    ];
    with_big_stack(move || {
        for (index, source) in programs.iter().enumerate() {
            assert_rows_right(&format!("corner {index}"), source);
        }
    });
}

#[test]
fn rows_match_the_code_of_random_programs() {
    let cases: u32 = common::env_count("EXPRJIT_CFI_PROGRAMS", 200);
    let config = Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    };
    let rng = TestRng::deterministic_rng(RngAlgorithm::XorShift);
    let mut runner = TestRunner::new_with_rng(config, rng);
    let result = runner.run(&exprjit_testgen::strategy::program(), |program| {
        let source = exprjit_testgen::render(&program);
        let found = problems(&source, true).expect("generated programs compile");
        proptest::prop_assert!(found.is_empty(), "{source}\n{}", found.join("\n"));
        Ok(())
    });
    if let Err(error) = result {
        panic!("{error}");
    }
}
