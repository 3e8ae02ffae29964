//! What the code generator records for debuggers and profilers when debug
//! info is asked for: line rows and call-frame rows (see
//! [`crate::artifact::DebugTables`]). Off, every method returns at once,
//! so compiling without `-g` pays one test of a flag per row.

use crate::artifact::{DebugTables, FrameRow, FrameRule, LineRow};
use crate::ast::Span;

/// The rows recorded so far, or nothing when debug info is off.
#[derive(Debug, Default)]
pub(crate) struct Recorder {
    tables: Option<DebugTables>,
}

impl Recorder {
    /// A recorder that records if `on`.
    pub(crate) fn new(on: bool) -> Recorder {
        Recorder {
            tables: on.then(DebugTables::default),
        }
    }

    /// Whether rows are recorded.
    pub(crate) fn on(&self) -> bool {
        self.tables.is_some()
    }

    /// From `offset` on, the frame is as `rule` says.
    pub(crate) fn frame(&mut self, offset: usize, rule: FrameRule) {
        if let Some(tables) = &mut self.tables {
            tables.frames.push(FrameRow { offset, rule });
        }
    }

    /// From `offset` on, the code computes `span` of function `func`'s
    /// source.
    pub(crate) fn line(&mut self, offset: usize, func: usize, span: Span) {
        if let Some(tables) = &mut self.tables {
            tables.lines.push(LineRow { offset, func, span });
        }
    }

    /// The rows of the functions emitted so far, to adjust or drop.
    pub(crate) fn tables_mut(&mut self) -> Option<&mut DebugTables> {
        self.tables.as_mut()
    }

    /// Adds `other`'s rows (of code that starts at `base`) after these, as
    /// if they had been recorded here: code emitted in parts is joined.
    pub(crate) fn append(&mut self, other: Recorder, base: usize) {
        if let (Some(tables), Some(other)) = (&mut self.tables, other.tables) {
            let lines = other.lines.into_iter().map(|row| LineRow {
                offset: row.offset + base,
                ..row
            });
            tables.lines.extend(lines);
            let frames = other.frames.into_iter().map(|row| FrameRow {
                offset: row.offset + base,
                ..row
            });
            tables.frames.extend(frames);
        }
    }

    /// The tables, sorted, one row per offset (of rows recorded at one
    /// offset, the last: the code in front of it turned out empty, e.g.
    /// a relaxed-away jump or a dropped `add rsp, 0`).
    pub(crate) fn finish(self) -> Option<Box<DebugTables>> {
        let mut tables = self.tables?;
        last_per_offset(&mut tables.frames, |row| row.offset);
        last_per_offset(&mut tables.lines, |row| row.offset);
        tables
            .lines
            .dedup_by(|row, earlier| (row.func, row.span) == (earlier.func, earlier.span));
        Some(Box::new(tables))
    }
}

/// Sorts `rows` by offset (stably) and keeps the last row at each offset.
fn last_per_offset<T: Copy>(rows: &mut Vec<T>, offset: impl Fn(&T) -> usize) {
    rows.sort_by_key(&offset);
    let mut kept: Vec<T> = Vec::with_capacity(rows.len());
    for &row in rows.iter() {
        match kept.last_mut() {
            Some(last) if offset(last) == offset(&row) => *last = row,
            _ => kept.push(row),
        }
    }
    *rows = kept;
}
