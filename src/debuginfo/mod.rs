//! Debug info for loaded code (`-g`): one in-memory ELF object per loaded
//! program, which `jit::gdb` registers with debuggers through the GDB JIT
//! interface, so that gdb sees JIT functions as source (`break fib`, `bt`
//! into Rust's frames, `list`).
//!
//! A pipeline stage after loading: it reads only the [`CodeMap`] (with its
//! [`crate::artifact::DebugTables`]), the address the code is mapped at
//! and the source text; nothing here knows how the code was generated.
//! `dwarf` writes `.debug_info`, `.debug_abbrev`, `.debug_line` and
//! `.debug_frame` with `gimli`; `elf` wraps them, a symbol per function
//! and `.text` as `NOBITS` at the code's real address, with the `object`
//! crate's ELF writer. Addresses are absolute: gdb relocates nothing in
//! objects it reads from memory (an `.eh_frame` relying on relocations
//! was ignored, `.debug_frame` with absolute addresses works).

mod dwarf;
mod elf;

use crate::artifact::CodeMap;
use crate::ast::Span;

/// The source files code was compiled from, and which function's source
/// is in which.
#[derive(Clone, Debug, Default)]
pub struct Sources<'a> {
    /// (path as debuggers should name it, text).
    pub files: Vec<(&'a str, &'a str)>,
    /// The file of each function, by function index; functions past its
    /// end are in file 0.
    pub func_file: Vec<usize>,
}

impl Sources<'_> {
    /// The file of function `func`.
    pub fn file_of(&self, func: usize) -> usize {
        self.func_file.get(func).copied().unwrap_or(0)
    }
}

/// Where source positions are: the line starts of each file.
pub(crate) struct Lines {
    starts: Vec<Vec<usize>>,
}

impl Lines {
    pub(crate) fn new(sources: &Sources) -> Lines {
        let starts = sources
            .files
            .iter()
            .map(|(_, text)| {
                std::iter::once(0)
                    .chain(text.match_indices('\n').map(|(at, _)| at + 1))
                    .collect()
            })
            .collect();
        Lines { starts }
    }

    /// The 1-based line and column where `span` starts in `file`.
    pub(crate) fn line_col(&self, file: usize, span: Span) -> (u64, u64) {
        let starts = &self.starts[file];
        let line = starts.partition_point(|&start| start <= span.start).max(1);
        let column = span.start - starts[line - 1] + 1;
        (line as u64, column as u64)
    }

    /// The text of the 1-based line `line` of `text`, which is `file`'s,
    /// without its newline: found from the line starts, not by reading
    /// the text from the beginning (once per line shown, that was
    /// quadratic: `--emit asm` of 100,000 functions took minutes).
    pub(crate) fn line_text<'t>(&self, file: usize, text: &'t str, line: u64) -> &'t str {
        let starts = &self.starts[file];
        let index = (line as usize).saturating_sub(1);
        let start = starts.get(index).copied().unwrap_or(text.len());
        let end = starts.get(index + 1).map_or(text.len(), |&next| next - 1);
        &text[start..end.max(start)]
    }
}

/// The ELF object describing the code of `map`, mapped at `base`.
pub fn image(map: &CodeMap, base: u64, sources: &Sources) -> Vec<u8> {
    let sections = dwarf::sections(map, base, sources);
    elf::object(map, base, &sections)
}
