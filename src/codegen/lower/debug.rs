//! The rows the lowering records when debug info is on
//! ([`crate::codegen::debug::Recorder`]): a line row wherever the code
//! starts or resumes computing a spanned expression, and a call-frame row
//! after every instruction that moves `rsp`, saves or restores a register
//! or changes what `rbp` means, and at every label reached only by a jump
//! (the other side of a branch, a loop head, a trap stub).
//!
//! The frame's size is known only once the body is emitted, so the rows
//! of an `rsp`-based frame say "plus the frame" until [`FuncDebug::flush`]
//! adds it. Off, nothing is recorded and each hook is one test of a flag.

use super::FuncLowering;
use crate::artifact::{Cfa, FrameRule};
use crate::ast::Span;
use crate::codegen::debug::Recorder;
use crate::ir;

/// A call-frame rule whose CFA offset may still lack the frame's size.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(super) struct Pending {
    pub(super) rule: FrameRule,
    /// The CFA is `rsp`-based and lies above the frame's allocated bytes.
    pub(super) plus_frame: bool,
}

impl Pending {
    pub(super) const ENTRY: Pending = Pending {
        rule: FrameRule::ENTRY,
        plus_frame: false,
    };
}

/// The debug rows of one attempt at a function.
pub(super) struct FuncDebug<'a> {
    out: &'a mut Recorder,
    pub(super) on: bool,
    frames: Vec<(usize, Pending)>,
    /// The rule in force at the current point of the code.
    pub(super) current: Pending,
    /// The spans being computed, innermost last, with the function whose
    /// source they are in.
    spans: Vec<(usize, Span)>,
    lines: Vec<(usize, usize, Span)>,
}

impl<'a> FuncDebug<'a> {
    pub(super) fn new(out: &'a mut Recorder) -> FuncDebug<'a> {
        FuncDebug {
            on: out.on(),
            out,
            frames: Vec::new(),
            current: Pending::ENTRY,
            spans: Vec::new(),
            lines: Vec::new(),
        }
    }

    /// Hands the rows to the recorder, with `frame_bytes` (the bytes the
    /// prologue allocates) added where they belong.
    #[inline]
    pub(super) fn flush(&mut self, frame_bytes: usize) {
        if !self.on {
            return;
        }
        let frame_bytes = i32::try_from(frame_bytes).expect("frame larger than 2 GiB");
        for (offset, pending) in self.frames.drain(..) {
            let mut rule = pending.rule;
            if pending.plus_frame
                && let Cfa::Rsp(offset) = &mut rule.cfa
            {
                *offset += frame_bytes;
            }
            self.out.frame(offset, rule);
        }
        for (offset, func, span) in self.lines.drain(..) {
            self.out.line(offset, func, span);
        }
    }
}

impl FuncLowering<'_> {
    /// From the current offset on, the frame is as `rule` says (computed
    /// only if debug info is on).
    #[inline(always)]
    pub(super) fn cfi(&mut self, rule: impl FnOnce(&Self) -> Pending) {
        if self.debug.on {
            let rule = rule(self);
            self.debug.current = rule;
            self.debug.frames.push((self.asm.offset(), rule));
        }
    }

    /// The rule of the frame as it stands when fully set up or not set up
    /// at all: what holds at a label reached only by jumps.
    #[inline(always)]
    pub(super) fn cfi_settled(&mut self) {
        if self.debug.on {
            self.record_settled();
        }
    }

    #[inline(never)]
    fn record_settled(&mut self) {
        self.cfi(|this| {
            if this.frame.ready {
                this.frame.rule(this.frame.set_up())
            } else {
                Pending::ENTRY
            }
        });
    }

    /// Starts computing `expr`, if it has a span of its own; returns
    /// whether it had (for [`Self::leave_span`]).
    pub(super) fn enter_span(&mut self, expr: ir::Expr<'_>) -> bool {
        if !self.debug.on {
            return false;
        }
        let span = match expr.kind() {
            ir::Kind::Call { span, .. } | ir::Kind::If { span, .. } => span,
            ir::Kind::Binary { op_span, .. } => op_span,
            _ => return false,
        };
        self.debug.spans.push((self.site.source_func, span));
        self.line_here();
        true
    }

    /// Done with an expression [`Self::enter_span`] entered: the code
    /// after it computes the enclosing one again.
    pub(super) fn leave_span(&mut self, entered: bool) {
        if entered {
            self.debug.spans.pop();
            self.line_here();
        }
    }

    /// Starts the function's rows: its entry rule, its name's line.
    pub(super) fn debug_entry(&mut self, name_span: Span) {
        if self.debug.on {
            self.debug.spans.push((self.func.id, name_span));
            self.line_here();
            self.cfi(|_| Pending::ENTRY);
        }
    }

    fn line_here(&mut self) {
        if let Some(&(func, span)) = self.debug.spans.last() {
            let offset = self.asm.offset();
            self.debug.lines.push((offset, func, span));
        }
    }
}
