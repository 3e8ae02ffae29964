//! Disassembly of generated code for people (`:asm` in the REPL and
//! `--emit asm`), using `iced-x86`'s decoder and Intel formatter. Only
//! decoding: the encoder in [`crate::codegen::x64`] stays our own.
//!
//! Given the code's line table ([`crate::artifact::DebugTables`]) and its
//! source, each run of instructions that computes one source line is
//! headed by that line (`; fib.ex:2 │ fn fib(n) = ...`); in colour, as
//! Compiler Explorer does, a line and its instructions share a colour.

use std::fmt::Write;

use iced_x86::{Decoder, DecoderOptions, Formatter, Instruction, IntelFormatter, OpKind};

use crate::artifact::{Artifact, LineRow, Symbol};
use crate::debuginfo::{Lines, Sources};

/// Longest part of a source line shown in a listing's header, in bytes.
const MAX_HEADER_SOURCE: usize = 200;

/// The source of disassembled code: its line table and the text it
/// points into.
pub struct SourceView<'a> {
    rows: &'a [LineRow],
    sources: &'a Sources<'a>,
    lines: Lines,
    /// Colour each line and its instructions alike (ANSI escapes).
    colour: bool,
}

impl<'a> SourceView<'a> {
    /// The view of `rows` into `sources`; `colour` for a terminal.
    pub fn new(rows: &'a [LineRow], sources: &'a Sources<'a>, colour: bool) -> SourceView<'a> {
        SourceView {
            rows,
            sources,
            lines: Lines::new(sources),
            colour,
        }
    }

    /// The source line in force at `offset` (in a symbol starting at
    /// `start`): its file and 1-based line number.
    fn line_at(&self, start: usize, offset: usize) -> Option<(usize, u64)> {
        let index = self.rows.partition_point(|row| row.offset <= offset);
        let row = self.rows[..index].last().filter(|row| row.offset >= start)?;
        let file = self.sources.file_of(row.func);
        self.sources.files.get(file)?;
        Some((file, self.lines.line_col(file, row.span).0))
    }

    /// The header of `line` of `file`: made only when the line changes,
    /// and with at most [`MAX_HEADER_SOURCE`] bytes of it (one line can be
    /// a whole generated program, and every instruction of it under it).
    fn header(&self, (file, line): (usize, u64)) -> String {
        let (path, text) = self.sources.files[file];
        let mut source = self.lines.line_text(file, text, line).trim();
        let mut cut = "";
        if source.len() > MAX_HEADER_SOURCE {
            let mut end = MAX_HEADER_SOURCE;
            while !source.is_char_boundary(end) {
                end -= 1;
            }
            source = &source[..end];
            cut = "…";
        }
        let name = std::path::Path::new(path)
            .file_name()
            .map_or_else(|| path.to_string(), |name| name.to_string_lossy().into_owned());
        format!("  ; {name}:{line} │ {source}{cut}")
    }

    /// The escape that starts the colour of line `line`.
    fn colour_of(&self, line: u64) -> Option<&'static str> {
        const PALETTE: [&str; 6] = [
            "\x1b[32m", "\x1b[34m", "\x1b[35m", "\x1b[36m", "\x1b[33m", "\x1b[31m",
        ];
        self.colour.then(|| PALETTE[line as usize % PALETTE.len()])
    }
}

/// Every symbol of `artifact`, disassembled at address 0 (so that the text
/// does not depend on where code happens to be mapped), in address order;
/// with `source`, its lines above the instructions. Written to `out` a
/// symbol at a time: the listing of a large program is some times larger
/// than its source, too large to hold (1.5 GB for 3 million functions).
pub fn write_listing(
    artifact: &Artifact,
    source: Option<&SourceView>,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    let symbols = artifact.map.symbols();
    for symbol in &symbols {
        let text = disassemble_with(&artifact.code, 0, &symbols, symbol, source);
        out.write_all(text.as_bytes())?;
    }
    Ok(())
}

/// [`write_listing`] into a string (for the tests).
pub fn listing(artifact: &Artifact, source: Option<&SourceView>) -> String {
    let mut out = Vec::new();
    // Writing to memory does not fail.
    let _ = write_listing(artifact, source, &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// Disassembles `symbol` out of `code`, which is (or will be) mapped at
/// `base`. Jump and call targets are named after the symbol they land in,
/// e.g. `<fib>` or `<fib+0x1c>`.
pub fn disassemble(code: &[u8], base: u64, symbols: &[Symbol], symbol: &Symbol) -> String {
    disassemble_with(code, base, symbols, symbol, None)
}

/// Like [`disassemble`]; with `source`, each run of instructions of one
/// source line is headed by that line.
pub fn disassemble_with(
    code: &[u8],
    base: u64,
    symbols: &[Symbol],
    symbol: &Symbol,
    source: Option<&SourceView>,
) -> String {
    let bytes = &code[symbol.offset..symbol.offset + symbol.size];
    let start = base + symbol.offset as u64;
    let mut decoder = Decoder::with_ip(64, bytes, start, DecoderOptions::NONE);
    let mut formatter = IntelFormatter::new();
    formatter.options_mut().set_first_operand_char_index(8);
    formatter
        .options_mut()
        .set_space_after_operand_separator(true);
    formatter.options_mut().set_hex_prefix("0x");
    formatter.options_mut().set_hex_suffix("");
    formatter.options_mut().set_uppercase_hex(false);
    let mut out = format!("{} ({} bytes):\n", symbol.name, symbol.size);
    let mut text = String::new();
    let mut instruction = Instruction::default();
    let mut current_line = None;
    let mut colour = None;
    while decoder.can_decode() {
        decoder.decode_out(&mut instruction);
        text.clear();
        formatter.format(&instruction, &mut text);
        let offset = (instruction.ip() - start) as usize;
        if let Some(view) = source
            && let Some(line) = view.line_at(symbol.offset, symbol.offset + offset)
            && current_line != Some(line)
        {
            current_line = Some(line);
            let header = view.header(line);
            colour = view.colour_of(line.1);
            match colour {
                Some(escape) => {
                    let _ = writeln!(out, "{escape}{header}\x1b[0m");
                }
                None => {
                    let _ = writeln!(out, "{header}");
                }
            }
        }
        if let Some(escape) = colour {
            out.push_str(escape);
        }
        let raw = &bytes[offset..offset + instruction.len()];
        let hex: Vec<String> = raw.iter().map(|b| format!("{b:02x}")).collect();
        let _ = write!(
            out,
            "  {:#010x}  {:<30} {text}",
            instruction.ip(),
            hex.join(" ")
        );
        if let Some(name) =
            branch_target(&instruction).and_then(|target| describe_target(target, base, symbols))
        {
            let _ = write!(out, "  ; {name}");
        }
        if colour.is_some() {
            out.push_str("\x1b[0m");
        }
        out.push('\n');
    }
    out
}

/// The target of a direct jump or call.
fn branch_target(instruction: &Instruction) -> Option<u64> {
    let is_branch = matches!(
        instruction.op0_kind(),
        OpKind::NearBranch16 | OpKind::NearBranch32 | OpKind::NearBranch64
    );
    is_branch.then(|| instruction.near_branch_target())
}

/// `<name>` or `<name+0xoff>` for an address inside one of `symbols`,
/// which are in address order (as [`crate::artifact::CodeMap::symbols`]
/// lists them). A binary search: `--emit asm` of a program with many
/// functions looks up every call, and a scan made that quadratic.
fn describe_target(target: u64, base: u64, symbols: &[Symbol]) -> Option<String> {
    let offset = usize::try_from(target.checked_sub(base)?).ok()?;
    let after = symbols.partition_point(|s| s.offset <= offset);
    // The candidates start at `offset` or before it; an empty symbol may
    // share its start with the next one, so look at all with that start.
    let start = symbols[..after].last()?.offset;
    let first = symbols[..after].partition_point(|s| s.offset < start);
    let symbol = symbols[first..after]
        .iter()
        .find(|s| (s.offset..s.offset + s.size.max(1)).contains(&offset))?;
    // Names such as `<trap exit>` come with their own brackets.
    let name = symbol.name.trim_start_matches('<').trim_end_matches('>');
    Some(match offset - symbol.offset {
        0 => format!("<{name}>"),
        delta => format!("<{name}+{delta:#x}>"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_call_targets() {
        // f: call g; ret    g: mov eax, 1; ret
        let code = [0xE8, 0x01, 0, 0, 0, 0xC3, 0xB8, 1, 0, 0, 0, 0xC3];
        let symbols = [
            Symbol {
                name: "f".into(),
                offset: 0,
                size: 6,
            },
            Symbol {
                name: "g".into(),
                offset: 6,
                size: 6,
            },
        ];
        let text = disassemble(&code, 0x1000, &symbols, &symbols[0]);
        assert!(text.starts_with("f (6 bytes):\n"), "{text}");
        assert!(text.contains("call"), "{text}");
        assert!(text.contains("; <g>"), "{text}");
        let text = disassemble(&code, 0x1000, &symbols, &symbols[1]);
        assert!(text.contains("mov     eax, 1"), "{text}");
    }

    #[test]
    fn targets_are_found_by_address() {
        let symbol = |name: &str, offset, size| Symbol {
            name: name.into(),
            offset,
            size,
        };
        let symbols = [
            symbol("<entry trampoline>", 0, 16),
            symbol("<trap exit>", 16, 0),
            symbol("a", 16, 10),
            symbol("b", 26, 4),
        ];
        let describe = |offset: u64| describe_target(0x1000 + offset, 0x1000, &symbols);
        assert_eq!(describe(0).as_deref(), Some("<entry trampoline>"));
        assert_eq!(describe(15).as_deref(), Some("<entry trampoline+0xf>"));
        // An empty symbol still names its own address.
        assert_eq!(describe(16).as_deref(), Some("<trap exit>"));
        assert_eq!(describe(17).as_deref(), Some("<a+0x1>"));
        assert_eq!(describe(26).as_deref(), Some("<b>"));
        assert_eq!(describe(30), None);
        assert_eq!(describe_target(0x10, 0x1000, &symbols), None);
    }
}
