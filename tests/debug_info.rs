//! The debug image of a loaded program (`-g`), read back with `object` and
//! `gimli`: the sections and symbols are as intended, every line row is
//! inside its function and on the line the function is written on, and
//! the `.debug_frame` rules at every recorded row's address are the rows'.

use exprjit::artifact::{Cfa, FrameRule, Saved};
use exprjit::debuginfo::{self, Sources};
use exprjit::pipeline::{self, Timings};
use gimli::{CfaRule, EndianSlice, LittleEndian, RegisterRule, UnwindSection, X86_64};
use object::{Object, ObjectSection, ObjectSymbol, SectionKind};

const SOURCE: &str = "# two functions
fn fib(n) = if n < 2 then n else fib(n - 1) + fib(n - 2)

fn many(a, b, c, d, e, f, g, h) =
  if a > 0 then many(a - 1, b, c, d, e, f, g, h + a) else h / b
fib(10) + many(3, 1, 2, 3, 4, 5, 6, 7)
";

/// The registration count is the process's: the tests that register take
/// turns.
static REGISTERING: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn the_image_reads_back_with_symbols_lines_and_call_frames() {
    let _turn = REGISTERING.lock().unwrap_or_else(|e| e.into_inner());
    let mut timings = Timings::default();
    let program = pipeline::front_end(SOURCE, &mut timings).unwrap();
    let sources = Sources {
        files: vec![("two.ex", SOURCE)],
        func_file: Vec::new(),
    };
    let loaded = pipeline::back_end_with(&program, true, Some(&sources), &mut timings).unwrap();
    let map = loaded.map();
    let base = loaded.base_address();
    let image = debuginfo::image(map, base, &sources);
    let file = object::File::parse(&image[..]).unwrap();

    // `.text` takes no bytes in the file and sits where the code is.
    let text = file.section_by_name(".text").unwrap();
    assert_eq!(text.address(), base);
    assert_eq!(text.size(), map.code_len as u64);
    assert_eq!(text.file_range(), None, "`.text` has bytes in the file");
    assert_ne!(text.kind(), SectionKind::Text);
    for name in [
        ".debug_info",
        ".debug_abbrev",
        ".debug_line",
        ".debug_frame",
    ] {
        assert!(file.section_by_name(name).is_some(), "no {name}");
    }
    // A symbol per piece of code, relative to `.text`.
    for symbol in map.symbols().iter().filter(|s| s.size > 0) {
        let found = file
            .symbols()
            .find(|s| s.name() == Ok(symbol.name.as_str()))
            .unwrap_or_else(|| panic!("no symbol {}", symbol.name));
        assert_eq!(found.address(), symbol.offset as u64, "{}", symbol.name);
        assert_eq!(found.size(), symbol.size as u64, "{}", symbol.name);
    }

    let section = |name: &str| {
        file.section_by_name(name)
            .map(|s| s.data().unwrap())
            .unwrap_or(&[])
    };
    let dwarf = gimli::Dwarf::load(|id| {
        Ok::<_, gimli::Error>(EndianSlice::new(section(id.name()), LittleEndian))
    })
    .unwrap();
    let mut units = dwarf.units();
    let header = units.next().unwrap().expect("one unit");
    let unit = dwarf.unit(header).unwrap();
    let program_lines = unit.line_program.clone().unwrap();
    let mut rows = program_lines.rows();
    let mut seen = Vec::new();
    while let Some((_, row)) = rows.next_row().unwrap() {
        if row.end_sequence() {
            continue;
        }
        let line = row.line().unwrap().get();
        let address = row.address();
        let func = map
            .funcs
            .iter()
            .find(|f| {
                (base + f.offset as u64..base + (f.offset + f.size) as u64).contains(&address)
            })
            .unwrap_or_else(|| panic!("line row at {address:#x} outside every function"));
        seen.push((map.name(func).to_owned(), line));
    }
    let lines_of = |name: &str| -> Vec<u64> {
        seen.iter()
            .filter(|(n, _)| n == name)
            .map(|&(_, l)| l)
            .collect()
    };
    assert!(!lines_of("fib").is_empty() && lines_of("fib").iter().all(|&l| l == 2));
    let many = lines_of("many");
    assert!(many.contains(&4) && many.contains(&5), "{many:?}");
    assert!(many.iter().all(|&l| l == 4 || l == 5), "{many:?}");

    // The frame rules, evaluated by gimli, at every row's address.
    let mut debug_frame = gimli::DebugFrame::new(section(".debug_frame"), LittleEndian);
    debug_frame.set_address_size(8);
    let bases = gimli::BaseAddresses::default();
    let mut context = gimli::UnwindContext::new();
    let tables = map.debug.as_ref().unwrap();
    for row in &tables.frames {
        let address = base + row.offset as u64;
        let fde = debug_frame
            .fde_for_address(&bases, address, gimli::DebugFrame::cie_from_offset)
            .unwrap_or_else(|e| panic!("no FDE for {address:#x}: {e}"));
        let unwind = fde
            .unwind_info_for_address(&debug_frame, &bases, &mut context, address)
            .unwrap();
        assert_same(&row.rule, unwind.cfa(), |reg| unwind.register(reg), address);
    }
}

fn assert_same(
    rule: &FrameRule,
    cfa: &CfaRule<usize>,
    register: impl Fn(gimli::Register) -> RegisterRule<usize>,
    address: u64,
) {
    match (rule.cfa, cfa) {
        (Cfa::Rsp(k), CfaRule::RegisterAndOffset { register, offset }) => {
            assert_eq!(
                (*register, *offset),
                (X86_64::RSP, k as i64),
                "{address:#x}"
            )
        }
        (Cfa::Rbp(k), CfaRule::RegisterAndOffset { register, offset }) => {
            assert_eq!(
                (*register, *offset),
                (X86_64::RBP, k as i64),
                "{address:#x}"
            )
        }
        (Cfa::Loaded { .. }, CfaRule::Expression(_)) => {}
        (rule, cfa) => panic!("{address:#x}: CFA {rule:?} written as {cfa:?}"),
    }
    let ra = register(X86_64::RA);
    match rule.return_address {
        Saved::AtCfa(k) => assert!(
            matches!(ra, RegisterRule::Offset(o) if o == k as i64),
            "{address:#x}: {ra:?}"
        ),
        Saved::InReg(_) => assert!(
            matches!(ra, RegisterRule::Register(_)),
            "{address:#x}: {ra:?}"
        ),
        Saved::Same | Saved::Lost => {
            panic!("{address:#x}: return address {:?}", rule.return_address)
        }
    }
    let rbp = register(X86_64::RBP);
    match rule.saved(exprjit::abi::Reg::Rbp) {
        Saved::AtCfa(k) => assert!(
            matches!(rbp, RegisterRule::Offset(o) if o == k as i64),
            "{address:#x}: {rbp:?}"
        ),
        Saved::Same => assert!(
            matches!(rbp, RegisterRule::SameValue | RegisterRule::Undefined),
            "{address:#x}: {rbp:?}"
        ),
        Saved::InReg(_) => assert!(
            matches!(rbp, RegisterRule::Register(_)),
            "{address:#x}: {rbp:?}"
        ),
        Saved::Lost => assert!(
            matches!(rbp, RegisterRule::Undefined),
            "{address:#x}: {rbp:?}"
        ),
    }
}

#[test]
fn programs_stay_registered_while_loaded() {
    let _turn = REGISTERING.lock().unwrap_or_else(|e| e.into_inner());
    let mut timings = Timings::default();
    let program = pipeline::front_end("fn f(x) = x + 1\nf(2)\n", &mut timings).unwrap();
    let sources = Sources {
        files: vec![("f.ex", "fn f(x) = x + 1\nf(2)\n")],
        func_file: Vec::new(),
    };
    let before = exprjit::jit::gdb::registered_count();
    let loaded = pipeline::back_end_with(&program, false, Some(&sources), &mut timings).unwrap();
    let second = pipeline::back_end_with(&program, false, Some(&sources), &mut timings).unwrap();
    assert_eq!(exprjit::jit::gdb::registered_count(), before + 2);
    drop(loaded);
    assert_eq!(exprjit::jit::gdb::registered_count(), before + 1);
    assert_eq!(second.call(0, &[41], None).unwrap().unwrap(), 42);
    drop(second);
    assert_eq!(exprjit::jit::gdb::registered_count(), before);
}
