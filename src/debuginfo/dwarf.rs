//! The DWARF sections of a debug image, written with `gimli`: one
//! compilation unit for the whole program with a subprogram per piece of
//! code, one line sequence per function, and a frame description per
//! piece of code made from the call-frame rows.

use gimli::write::{
    Address, AttributeValue, CallFrameInstruction, CommonInformationEntry, DwarfUnit,
    EndianVec, Expression, FrameDescriptionEntry, FrameTable, LineProgram, LineString, Sections,
};
use gimli::{Encoding, Format, LineEncoding, LittleEndian, Register, X86_64};

use super::{Lines, Sources};
use crate::abi::Reg;
use crate::artifact::{Cfa, CodeMap, FrameRule, SAVED_REGS, Saved};

/// A finished section: its ELF name and bytes.
pub(crate) struct Section {
    pub(crate) name: &'static str,
    pub(crate) data: Vec<u8>,
}

const ENCODING: Encoding = Encoding {
    format: Format::Dwarf32,
    version: 4,
    address_size: 8,
};

/// The DWARF register number of `reg`.
fn dwarf_reg(reg: Reg) -> Register {
    match reg {
        Reg::Rax => X86_64::RAX,
        Reg::Rcx => X86_64::RCX,
        Reg::Rdx => X86_64::RDX,
        Reg::Rbx => X86_64::RBX,
        Reg::Rsp => X86_64::RSP,
        Reg::Rbp => X86_64::RBP,
        Reg::Rsi => X86_64::RSI,
        Reg::Rdi => X86_64::RDI,
        Reg::R8 => X86_64::R8,
        Reg::R9 => X86_64::R9,
        Reg::R10 => X86_64::R10,
        Reg::R11 => X86_64::R11,
        Reg::R12 => X86_64::R12,
        Reg::R13 => X86_64::R13,
        Reg::R14 => X86_64::R14,
        Reg::R15 => X86_64::R15,
    }
}

/// Every DWARF section of the image of `map` at `base`.
pub(crate) fn sections(map: &CodeMap, base: u64, sources: &Sources) -> Vec<Section> {
    let lines = Lines::new(sources);
    let mut dwarf = DwarfUnit::new(ENCODING);
    let working_dir = std::env::current_dir()
        .map(|dir| dir.display().to_string())
        .unwrap_or_else(|_| "/".to_owned());
    let main_file = sources.files.first().map_or("<none>", |(path, _)| path);
    let mut program = LineProgram::new(
        ENCODING,
        LineEncoding::default(),
        LineString::String(working_dir.clone().into_bytes()),
        None,
        LineString::String(main_file.as_bytes().to_vec()),
        None,
    );
    let dir = program.default_directory();
    let files: Vec<_> = sources
        .files
        .iter()
        .map(|(path, _)| program.add_file(LineString::String(path.as_bytes().to_vec()), dir, None))
        .collect();

    let tables = map.debug.as_ref();
    let rows = tables.map_or(&[][..], |t| &t.lines[..]);
    for func in &map.funcs {
        let (start, end) = (func.offset as usize, (func.offset + func.size) as usize);
        let first = rows.partition_point(|row| row.offset < start);
        let last = rows.partition_point(|row| row.offset < end);
        if first == last || files.is_empty() {
            continue;
        }
        program.begin_sequence(Some(Address::Constant(base + start as u64)));
        for row in &rows[first..last] {
            let file = sources.file_of(row.func);
            let (line, column) = lines.line_col(file, row.span);
            let current = program.row();
            current.address_offset = (row.offset - start) as u64;
            current.file = files[file];
            current.line = line;
            current.column = column;
            program.generate_row();
        }
        program.end_sequence(u64::from(func.size));
    }
    dwarf.unit.line_program = program;

    let root = dwarf.unit.root();
    let unit = dwarf.unit.get_mut(root);
    unit.set(gimli::DW_AT_producer, AttributeValue::String(b"exprjit".to_vec()));
    unit.set(gimli::DW_AT_language, AttributeValue::Language(gimli::DW_LANG_C99));
    unit.set(gimli::DW_AT_name, AttributeValue::String(main_file.as_bytes().to_vec()));
    unit.set(gimli::DW_AT_comp_dir, AttributeValue::String(working_dir.into_bytes()));
    unit.set(gimli::DW_AT_low_pc, AttributeValue::Address(Address::Constant(base)));
    unit.set(gimli::DW_AT_high_pc, AttributeValue::Udata(map.code_len as u64));
    for symbol in map.symbols() {
        if symbol.size == 0 {
            continue;
        }
        let id = dwarf.unit.add(root, gimli::DW_TAG_subprogram);
        let entry = dwarf.unit.get_mut(id);
        entry.set(gimli::DW_AT_name, AttributeValue::String(symbol.name.clone().into_bytes()));
        entry.set(gimli::DW_AT_external, AttributeValue::Flag(true));
        let low = base + symbol.offset as u64;
        entry.set(gimli::DW_AT_low_pc, AttributeValue::Address(Address::Constant(low)));
        entry.set(gimli::DW_AT_high_pc, AttributeValue::Udata(symbol.size as u64));
        // (Functions are laid out in order: a binary search, as a scan per
        // symbol made 100,000 functions take seconds.)
        let source = map
            .funcs
            .binary_search_by_key(&symbol.offset, |f| f.offset as usize)
            .ok()
            .filter(|&func| map.funcs[func].size as usize == symbol.size);
        if let (Some(func), false) = (source, files.is_empty()) {
            let file = sources.file_of(func);
            let (line, _) = lines.line_col(file, map.funcs[func].name_span.into());
            entry.set(gimli::DW_AT_decl_file, AttributeValue::FileIndex(Some(files[file])));
            entry.set(gimli::DW_AT_decl_line, AttributeValue::Udata(line));
        }
    }

    let mut sections = Sections::new(EndianVec::new(LittleEndian));
    dwarf.write(&mut sections).expect("DWARF for generated code");
    let mut frames = FrameTable::default();
    write_frames(&mut frames, map, base);
    let mut debug_frame = gimli::write::DebugFrame(EndianVec::new(LittleEndian));
    frames
        .write_debug_frame(&mut debug_frame)
        .expect("call-frame information");

    let mut out = Vec::new();
    sections
        .for_each(|id, data| {
            if !data.slice().is_empty() {
                out.push(Section {
                    name: id.name(),
                    data: data.slice().to_vec(),
                });
            }
            Ok::<_, gimli::write::Error>(())
        })
        .expect("sections");
    out.push(Section {
        name: ".debug_frame",
        data: debug_frame.0.into_vec(),
    });
    out
}

/// One frame description per symbol with rows, each row turned into the
/// instructions that change the previous row's rule into it.
fn write_frames(frames: &mut FrameTable, map: &CodeMap, base: u64) {
    let Some(tables) = &map.debug else { return };
    let mut cie = CommonInformationEntry::new(ENCODING, 1, -8, X86_64::RA);
    for instruction in changes(None, &FrameRule::ENTRY) {
        cie.add_instruction(instruction);
    }
    let cie = frames.add_cie(cie);
    let rows = &tables.frames;
    for symbol in map.symbols() {
        let (start, end) = (symbol.offset, symbol.offset + symbol.size);
        if start == end {
            continue;
        }
        let address = Address::Constant(base + start as u64);
        let mut fde = FrameDescriptionEntry::new(address, symbol.size as u32);
        // The rule in force at the start (the last row before it, if the
        // symbol starts without one of its own).
        let from = rows.partition_point(|row| row.offset <= start);
        let mut rule = if from > 0 { rows[from - 1].rule } else { FrameRule::ENTRY };
        for instruction in changes(Some(&FrameRule::ENTRY), &rule) {
            fde.add_instruction(0, instruction);
        }
        for row in rows[from..].iter().take_while(|row| row.offset < end) {
            let offset = (row.offset - start) as u32;
            for instruction in changes(Some(&rule), &row.rule) {
                fde.add_instruction(offset, instruction);
            }
            rule = row.rule;
        }
        frames.add_fde(cie, fde);
    }
}

/// The call-frame instructions that turn rule `from` (none: the state
/// before the CIE's instructions) into `to`.
fn changes(from: Option<&FrameRule>, to: &FrameRule) -> Vec<CallFrameInstruction> {
    let mut out = Vec::new();
    if from.map(|f| f.cfa) != Some(to.cfa) {
        out.push(match to.cfa {
            Cfa::Rsp(offset) => CallFrameInstruction::Cfa(X86_64::RSP, offset),
            Cfa::Rbp(offset) => CallFrameInstruction::Cfa(X86_64::RBP, offset),
            Cfa::Loaded { reg, disp, offset } => {
                let mut expression = Expression::new();
                expression.op_breg(dwarf_reg(reg), disp.into());
                expression.op_deref();
                expression.op_plus_uconst(offset as u64);
                CallFrameInstruction::CfaExpression(expression)
            }
        });
    }
    let mut place = |reg: Register, before: Option<Saved>, now: Saved| {
        if before == Some(now) {
            return;
        }
        out.push(match now {
            Saved::Same => CallFrameInstruction::SameValue(reg),
            Saved::AtCfa(offset) => CallFrameInstruction::Offset(reg, offset),
            Saved::InReg(other) => CallFrameInstruction::Register(reg, dwarf_reg(other)),
            Saved::Lost => CallFrameInstruction::Undefined(reg),
        });
    };
    place(X86_64::RA, from.map(|f| f.return_address), to.return_address);
    for (index, &reg) in SAVED_REGS.iter().enumerate() {
        let before = from.map(|f| f.saved[index]);
        // Registers start as `same` without saying so.
        let before = before.or(Some(Saved::Same).filter(|_| to.saved[index] == Saved::Same));
        place(dwarf_reg(reg), before, to.saved[index]);
    }
    out
}
