//! Every piece of code the code generator emits for the golden tests and the
//! examples must decode cleanly with an independent decoder (`iced-x86`,
//! used only to decode).
//!
//! The checks rely on nothing but the public output of code generation,
//! [`Artifact`] and its [`Symbol`]s, so they hold for any code generator:
//!
//! - each symbol (every function, the entry trampoline, the trap exit)
//!   decodes end to end with no invalid instruction, the last one ending
//!   exactly at the symbol's end, and does not fall through off its end;
//! - every direct jump or call lands on an instruction boundary inside its
//!   own symbol or at the start of a symbol. The runtime code outside the
//!   functions (trampoline and trap exit) may also jump to any instruction
//!   boundary in itself: the trap exit shares the trampoline's epilogue;
//! - every trap site is the return address of a `call` to the trap exit;
//! - symbols do not overlap, and bytes outside every symbol are padding.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use exprjit::internals::{self as codegen, Artifact, Symbol};
use exprjit::pipeline::{self, Timings};
use iced_x86::{Decoder, DecoderOptions, Formatter, Instruction, IntelFormatter, Mnemonic, OpKind};

/// A symbol, with whether it is one of the program's functions (as opposed
/// to runtime code such as the trampoline).
#[derive(Clone, Debug)]
struct Region {
    symbol: Symbol,
    is_function: bool,
}

impl Region {
    fn end(&self) -> usize {
        self.symbol.offset + self.symbol.size
    }
}

/// Generated code and what the checks need to know about it.
struct CodeImage<'a> {
    code: &'a [u8],
    regions: Vec<Region>,
    /// Offset of the shared trap exit that trap stubs call.
    trap_exit: usize,
    /// Return addresses of the calls to the trap exit.
    trap_sites: Vec<usize>,
}

impl<'a> CodeImage<'a> {
    fn new(compiled: &'a Artifact, symbols: Vec<Symbol>) -> Self {
        let regions = symbols
            .into_iter()
            .map(|symbol| {
                let is_function =
                    compiled.map.funcs.iter().any(|f| {
                        f.offset as usize == symbol.offset && f.size as usize == symbol.size
                    });
                Region {
                    symbol,
                    is_function,
                }
            })
            .collect();
        CodeImage {
            code: &compiled.code,
            regions,
            trap_exit: compiled.map.trap_exit,
            trap_sites: compiled
                .map
                .traps
                .iter()
                .map(|t| t.offset as usize)
                .collect(),
        }
    }
}

/// A direct jump or call found while decoding.
struct Branch {
    /// Index of the region it is in.
    from: usize,
    at: usize,
    target: u64,
    text: String,
}

fn format(instruction: &Instruction) -> String {
    let mut text = String::new();
    IntelFormatter::new().format(instruction, &mut text);
    text
}

/// Whether control cannot fall through `instruction` to the next byte.
/// A call to the trap exit does not return.
fn ends_flow(instruction: &Instruction, trap_exit: usize) -> bool {
    match instruction.mnemonic() {
        Mnemonic::Ret | Mnemonic::Ud2 | Mnemonic::Int3 => true,
        Mnemonic::Jmp => true,
        Mnemonic::Call => {
            instruction.op_kind(0) == OpKind::NearBranch64
                && instruction.near_branch_target() == trap_exit as u64
        }
        _ => false,
    }
}

/// The outcome of checking a [`CodeImage`].
#[derive(Default)]
struct Checked {
    /// Everything wrong; empty if the image passes every check.
    problems: Vec<String>,
    /// Instructions decoded and direct branches among them.
    instructions: usize,
    branches: usize,
}

/// Everything wrong with `image`; empty if it passes every check.
fn problems(image: &CodeImage) -> Vec<String> {
    check(image).problems
}

fn check(image: &CodeImage) -> Checked {
    let mut problems = Vec::new();
    let mut instructions = 0;
    let code = image.code;

    // The layout: symbols inside the code, not overlapping.
    let mut order: Vec<usize> = (0..image.regions.len()).collect();
    order.sort_by_key(|&i| image.regions[i].symbol.offset);
    let mut covered_to = 0;
    for &i in &order {
        let region = &image.regions[i];
        let name = &region.symbol.name;
        if region.symbol.size == 0 {
            problems.push(format!("{name}: empty"));
        }
        if region.end() > code.len() {
            problems.push(format!(
                "{name}: ends at {:#x}, past the code's end {:#x}",
                region.end(),
                code.len()
            ));
            return Checked {
                problems,
                ..Checked::default()
            };
        }
        if region.symbol.offset < covered_to {
            problems.push(format!("{name}: overlaps the symbol before it"));
        } else if region.symbol.offset > covered_to {
            problems.extend(padding_problems(code, covered_to, region.symbol.offset));
        }
        covered_to = covered_to.max(region.end());
    }
    problems.extend(padding_problems(code, covered_to, code.len()));

    // Decode each symbol on its own, so an instruction cannot straddle the
    // end of one into the next.
    let mut boundaries: Vec<HashSet<usize>> = vec![HashSet::new(); image.regions.len()];
    let mut branches = Vec::new();
    let mut call_returns = HashSet::new();
    for (index, region) in image.regions.iter().enumerate() {
        let Symbol { name, offset, size } = &region.symbol;
        let bytes = &code[*offset..offset + size];
        let mut decoder = Decoder::with_ip(64, bytes, *offset as u64, DecoderOptions::NONE);
        let mut last = None;
        while decoder.can_decode() {
            let instruction = decoder.decode();
            let at = instruction.ip() as usize;
            if instruction.is_invalid() {
                problems.push(format!(
                    "{name}+{:#x}: invalid instruction ({:?}) in {:02x?}",
                    at - offset,
                    decoder.last_error(),
                    &code[at..(at + 15).min(offset + size)]
                ));
                last = None;
                break;
            }
            boundaries[index].insert(at);
            instructions += 1;
            match instruction.op_kind(0) {
                OpKind::NearBranch64 if instruction.op_count() == 1 => {
                    let target = instruction.near_branch_target();
                    if instruction.mnemonic() == Mnemonic::Call && target == image.trap_exit as u64
                    {
                        call_returns.insert(at + instruction.len());
                    }
                    branches.push(Branch {
                        from: index,
                        at,
                        target,
                        text: format(&instruction),
                    });
                }
                OpKind::NearBranch16
                | OpKind::NearBranch32
                | OpKind::NearBranch64
                | OpKind::FarBranch16
                | OpKind::FarBranch32 => problems.push(format!(
                    "{name}+{:#x}: unexpected branch form `{}`",
                    at - offset,
                    format(&instruction)
                )),
                _ => {}
            }
            if instruction.is_ip_rel_memory_operand()
                && !usize::try_from(instruction.ip_rel_memory_address())
                    .is_ok_and(|address| address < code.len())
            {
                problems.push(format!(
                    "{name}+{:#x}: `{}` addresses memory outside the code",
                    at - offset,
                    format(&instruction)
                ));
            }
            last = Some(instruction);
        }
        if let Some(last) = last
            && !ends_flow(&last, image.trap_exit)
        {
            problems.push(format!(
                "{name}: falls through off its end after `{}`",
                format(&last)
            ));
        }
    }

    for branch in &branches {
        let from = &image.regions[branch.from];
        let describe = || {
            format!(
                "{}+{:#x}: `{}`",
                from.symbol.name,
                branch.at - from.symbol.offset,
                branch.text
            )
        };
        let Some(into) = usize::try_from(branch.target).ok().and_then(|target| {
            image
                .regions
                .iter()
                .position(|r| (r.symbol.offset..r.end()).contains(&target))
                .map(|index| (index, target))
        }) else {
            problems.push(format!("{}: target outside every symbol", describe()));
            continue;
        };
        let (index, target) = into;
        let to = &image.regions[index];
        let is_start = target == to.symbol.offset;
        let may_land_inside = index == branch.from || (!from.is_function && !to.is_function);
        let on_boundary = boundaries[index].contains(&target);
        if !(is_start || (may_land_inside && on_boundary)) {
            problems.push(format!(
                "{}: lands at {}+{:#x}, {}",
                describe(),
                to.symbol.name,
                target - to.symbol.offset,
                if may_land_inside {
                    "not an instruction boundary"
                } else {
                    "not the start of that symbol"
                }
            ));
        }
    }

    for &site in &image.trap_sites {
        if !call_returns.contains(&site) {
            problems.push(format!(
                "trap site {site:#x} does not follow a call to the trap exit"
            ));
        }
    }
    Checked {
        problems,
        instructions,
        branches: branches.len(),
    }
}

/// Bytes between symbols may only be alignment padding (`nop`, `int3`).
fn padding_problems(code: &[u8], start: usize, end: usize) -> Vec<String> {
    let mut decoder = Decoder::with_ip(64, &code[start..end], start as u64, DecoderOptions::NONE);
    let mut problems = Vec::new();
    while decoder.can_decode() {
        let instruction = decoder.decode();
        if !matches!(instruction.mnemonic(), Mnemonic::Nop | Mnemonic::Int3) {
            problems.push(format!(
                "bytes {start:#x}..{end:#x} are outside every symbol and not padding (`{}`)",
                format(&instruction)
            ));
            break;
        }
    }
    problems
}

/// Compiles `source` and checks its code; `None` if it does not compile.
fn check_source(source: &str) -> Option<Checked> {
    let program = pipeline::front_end(source, &mut Timings::default()).ok()?;
    let compiled = codegen::compile(&program);
    let symbols = compiled.map.symbols();
    let enter_is_a_symbol = symbols.iter().any(|s| s.offset == compiled.map.enter);
    let mut checked = check(&CodeImage::new(&compiled, symbols));
    if !enter_is_a_symbol {
        let problem = format!("entry {:#x} is not a symbol", compiled.map.enter);
        checked.problems.push(problem);
    }
    Some(checked)
}

/// The `.ex` files directly in `dir`, sorted.
fn sources_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|error| panic!("{}: {error}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "ex"))
        .collect();
    files.sort();
    files
}

/// Programs that reach corners the golden tests may not: frames larger than
/// a disp8 reaches, many stack arguments, deep temporaries and long jumps.
fn stress_programs() -> Vec<(String, String)> {
    let lets: String = (0..40)
        .map(|i| format!("let v{i} = x * {i} + {} in ", i * 37))
        .collect();
    let sum: Vec<String> = (0..40).map(|i| format!("v{i}")).collect();
    let wide = format!("fn wide(x) = {lets}{}\nwide(3)\n", sum.join(" + "));

    let params: Vec<String> = (0..14).map(|i| format!("p{i}")).collect();
    let args: Vec<String> = (0..14).map(|i| format!("p{}", 13 - i)).collect();
    let many = format!(
        "fn many({ps}) = p0 - p13 * p7\nfn pass({ps}) = many({args}) + many({ps})\npass({nums})\n",
        ps = params.join(", "),
        args = args.join(", "),
        nums = (1..=14)
            .map(|n| n.to_string())
            .collect::<Vec<_>>()
            .join(", "),
    );

    let mut deep = String::from("x");
    for i in 0..60 {
        deep = format!("(({deep}) * (x + {i}) / (x - {i} + 100) % 7 << (x & 3))");
    }
    let deep = format!("fn deep(x) = {deep}\ndeep(5)\n");

    let mut branches = String::from("x");
    for i in 0..40 {
        branches = format!(
            "if x > {i} && x != {} then {branches} + {i} else x - {i}",
            i * 3
        );
    }
    let branches = format!("fn branches(x) = {branches}\nbranches(50)\n");

    vec![
        ("wide frame".into(), wide),
        ("stack arguments".into(), many),
        ("deep temporaries".into(), deep),
        ("long branches".into(), branches),
    ]
}

/// Runs `body` on a thread with a generous stack: the compiler recurses per
/// nesting level.
fn with_big_stack(body: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(body)
        .expect("spawn")
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
}

#[test]
fn generated_code_decodes_cleanly() {
    with_big_stack(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut inputs: Vec<(String, String)> = Vec::new();
        for dir in ["tests/golden", "examples"] {
            for path in sources_in(&root.join(dir)) {
                let name = path
                    .strip_prefix(root)
                    .unwrap_or(&path)
                    .display()
                    .to_string();
                // A source that is not UTF-8 cannot compile; skip it.
                if let Ok(text) = String::from_utf8(std::fs::read(&path).expect("readable")) {
                    inputs.push((name, text));
                }
            }
        }
        let examples = inputs
            .iter()
            .filter(|(n, _)| n.starts_with("examples"))
            .count();
        assert!(examples > 0, "no examples found");
        let synthetic = stress_programs();
        let synthetic_count = synthetic.len();
        inputs.extend(synthetic);

        let (mut compiled, mut instructions, mut branches) = (0, 0, 0);
        let mut failures = Vec::new();
        for (name, source) in &inputs {
            match check_source(source) {
                Some(checked) => {
                    compiled += 1;
                    instructions += checked.instructions;
                    branches += checked.branches;
                    let problems = checked.problems.into_iter();
                    failures.extend(problems.map(|p| format!("{name}: {p}")));
                }
                None if name.starts_with("examples") || !name.ends_with(".ex") => {
                    failures.push(format!("{name}: does not compile"));
                }
                None => {}
            }
        }
        assert!(
            failures.is_empty(),
            "generated code does not decode cleanly:\n{}",
            failures.join("\n")
        );
        // Most golden tests compile; a handful exist to show compile errors.
        assert!(
            compiled >= examples + synthetic_count + 20,
            "only {compiled} of {} inputs compiled",
            inputs.len()
        );
        println!(
            "{compiled} of {} programs decode cleanly: {instructions} instructions, \
             {branches} direct branches",
            inputs.len()
        );
    });
}

// ---- the checker itself ------------------------------------------------------

/// A function symbol at `offset`.
fn function(name: &str, offset: usize, size: usize) -> Region {
    Region {
        symbol: Symbol {
            name: name.into(),
            offset,
            size,
        },
        is_function: true,
    }
}

fn runtime(name: &str, offset: usize, size: usize) -> Region {
    Region {
        is_function: false,
        ..function(name, offset, size)
    }
}

/// `trap exit` at 0: `pop rax; jmp rax`, and a 13-byte `f` at 3:
/// `call g; call <trap exit>; ret`, then `g` at 16: `mov eax, 1; ret`.
const SAMPLE: [u8; 22] = [
    0x58, 0xFF, 0xE0, // trap exit: pop rax; jmp rax
    0xE8, 0x08, 0, 0, 0, // f: call g (16)
    0xE8, 0xF3, 0xFF, 0xFF, 0xFF, // call trap exit (0)
    0xC3, // ret
    0x90, 0x90, // (padding)
    0xB8, 1, 0, 0, 0,    // g: mov eax, 1
    0xC3, // ret
];

fn sample(code: &[u8]) -> CodeImage<'_> {
    CodeImage {
        code,
        regions: vec![
            runtime("<trap exit>", 0, 3),
            function("f", 3, 11),
            function("g", 16, 6),
        ],
        trap_exit: 0,
        trap_sites: vec![13],
    }
}

#[test]
fn checker_accepts_well_formed_code() {
    assert_eq!(problems(&sample(&SAMPLE)), Vec::<String>::new());
}

#[track_caller]
fn assert_problem(image: &CodeImage, expected: &str) {
    let found = problems(image);
    assert!(
        found.iter().any(|p| p.contains(expected)),
        "expected a problem containing {expected:?}, found {found:?}"
    );
}

#[test]
fn checker_rejects_a_call_into_the_middle_of_a_function() {
    let mut code = SAMPLE;
    code[4] = 0x09; // call g+1
    assert_problem(
        &sample(&code),
        "lands at g+0x1, not the start of that symbol",
    );
}

#[test]
fn checker_rejects_a_jump_into_the_middle_of_an_instruction() {
    let mut code = SAMPLE;
    code[3] = 0xE9; // jmp rel32
    code[4] = 0x04; // to f+9: the middle of `call <trap exit>`
    assert_problem(&sample(&code), "not an instruction boundary");
}

#[test]
fn checker_rejects_a_symbol_whose_size_cuts_an_instruction() {
    let mut image = sample(&SAMPLE);
    image.regions[2] = function("g", 16, 4);
    assert_problem(&image, "g+0x0: invalid instruction (NoMoreBytes)");
}

#[test]
fn checker_rejects_invalid_bytes_and_code_outside_symbols() {
    let mut code = SAMPLE;
    code[21] = 0x06; // `push es` is invalid in 64-bit mode
    code[14] = 0xC3; // not padding
    let image = sample(&code);
    assert_problem(&image, "g+0x5: invalid instruction");
    assert_problem(&image, "outside every symbol and not padding");
}

#[test]
fn checker_rejects_falling_off_the_end_and_a_stray_trap_site() {
    let mut image = sample(&SAMPLE);
    // f is only `call g` now; the rest of its bytes become another symbol.
    image.regions[1] = function("f", 3, 5);
    image.regions.push(runtime("rest", 8, 6));
    image.trap_sites.push(14);
    assert_problem(&image, "f: falls through off its end after `call");
    assert_problem(
        &image,
        "trap site 0xe does not follow a call to the trap exit",
    );
}
