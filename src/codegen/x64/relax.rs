//! [`Assembler::relax`]: the jumps of a function shortened to rel8 where
//! they reach, jumps to the next instruction and dead instructions
//! dropped, and everything after moved up (with the labels and fixups).

use super::Assembler;

/// How [`Assembler::relax`] moved code: maps offsets from before to after.
#[derive(Clone, Debug, Default)]
pub struct Relocation {
    /// (old offset of an edit, bytes removed by it and all edits before).
    shrinks: Vec<(usize, usize)>,
}

impl Relocation {
    /// The shrinks of `edits` (in code order) as they stand.
    fn recompute(&mut self, edits: &[Edit]) {
        self.shrinks.clear();
        let mut removed = 0;
        for edit in edits {
            removed += edit.old - edit.new;
            self.shrinks.push((edit.start, removed));
        }
    }

    /// Where the byte at `offset` before relaxation is now (an offset at an
    /// edited instruction maps to that instruction's new start).
    pub fn map(&self, offset: usize) -> usize {
        self.map_after(offset, self.shrinks.partition_point(|&(at, _)| at < offset))
    }

    /// [`Relocation::map`] of an `offset` that `before` edits start before.
    #[inline]
    fn map_after(&self, offset: usize, before: usize) -> usize {
        match before {
            0 => offset,
            n => offset - self.shrinks[n - 1].1,
        }
    }

    /// A [`Relocation::map`] for offsets asked in ascending order, which
    /// walks the edits once instead of searching them for each offset.
    pub fn ascending(&self) -> Ascending<'_> {
        Ascending {
            moved: self,
            before: 0,
            last: 0,
        }
    }
}

/// [`Relocation::map`] for ascending offsets (see
/// [`Relocation::ascending`]); an offset below the one before is still
/// mapped right, by a search.
pub struct Ascending<'r> {
    moved: &'r Relocation,
    /// How many edits start before `last`.
    before: usize,
    last: usize,
}

impl Ascending<'_> {
    /// Where the byte at `offset` before relaxation is now.
    #[inline]
    pub fn map(&mut self, offset: usize) -> usize {
        let shrinks = &self.moved.shrinks;
        if offset < self.last {
            self.before = shrinks.partition_point(|&(at, _)| at < offset);
        } else {
            while self.before < shrinks.len() && shrinks[self.before].0 < offset {
                self.before += 1;
            }
        }
        self.last = offset;
        self.moved.map_after(offset, self.before)
    }
}

/// A jump the relaxation may shorten: whether it is a `jmp` (else a `jcc`,
/// whose condition is in its second byte) and where it goes.
#[derive(Copy, Clone, Debug)]
pub(super) struct Shortenable {
    jmp: bool,
    target: usize,
    /// How many edits start before `target` (found once: the lengths are
    /// settled by many passes over the edits, each of which needs where
    /// the target is).
    target_after: usize,
}

/// One change [`Assembler::relax`] makes: the instruction at `start`, of
/// `old` bytes, becomes `new` bytes (a shortened jump, or nothing).
#[derive(Copy, Clone, Debug)]
pub(super) struct Edit {
    start: usize,
    old: usize,
    new: usize,
    /// How many edits start before `start`.
    after: usize,
    jump: Option<Shortenable>,
}

impl Edit {
    fn dead(start: usize, len: usize) -> Edit {
        Edit {
            start,
            old: len,
            new: 0,
            after: 0,
            jump: None,
        }
    }

    /// Whether a later pass may still shorten it: a jump not yet in its
    /// shortest form (a forward `jmp` in the rel8 one may still vanish).
    fn may_shrink(&self) -> bool {
        match self.jump {
            Some(jump) => self.new > 2 || self.new == 2 && jump.jmp && jump.target > self.start,
            None => false,
        }
    }
}

/// Settles the lengths of the `edits`' jumps, leaving in `moved` how the
/// code moves. Shortening one jump only brings others closer, so every
/// pass shortens what the lengths of the pass before allow, until a pass
/// changes nothing or nothing is left that could shrink.
fn settle(edits: &mut [Edit], moved: &mut Relocation) {
    loop {
        moved.recompute(edits);
        let mut changed = false;
        let mut open = false;
        for edit in edits.iter_mut() {
            let Some(jump) = edit.jump else { continue };
            let start = moved.map_after(edit.start, edit.after);
            let target = moved.map_after(jump.target, jump.target_after);
            // The rel8 displacement the jump would have: forward, the
            // bytes between its end and the target (the same whatever
            // its own length); backward, from the end of a 2-byte jump.
            let forward = jump.target > edit.start;
            let displacement = if forward {
                target as i64 - (start + edit.new) as i64
            } else {
                target as i64 - (start as i64 + 2)
            };
            let new = if jump.jmp && forward && displacement == 0 {
                0
            } else if i8::try_from(displacement).is_ok() {
                2
            } else {
                edit.new
            };
            if new < edit.new {
                edit.new = new;
                changed = true;
            }
            open |= edit.may_shrink();
        }
        if !changed {
            return;
        }
        if !open {
            // Another pass would change nothing: only the shrinks are
            // behind.
            moved.recompute(edits);
            return;
        }
    }
}

impl Assembler {
    /// Shortens the code from `from` on (one function, all its labels
    /// bound): every `jmp`/`jcc` emitted there to a label bound there takes
    /// the rel8 form if the distance allows, a `jmp` to the next
    /// instruction and every dead instruction go, and the code after each
    /// moves up. Shortening one jump only brings others closer, so the
    /// lengths are settled by repeating until nothing changes. Labels and
    /// jumps to other code are moved along; returns how offsets moved.
    pub fn relax(&mut self, from: usize) -> &Relocation {
        self.moved.shrinks.clear();
        if self.branches.is_empty() && self.dead.is_empty() {
            self.recent.clear();
            return &self.moved;
        }
        let end = self.code.len();
        // Only the fixups from `from` on concern this code.
        let first_fixup = self.first_fixup_at(from);
        let mut edits = std::mem::take(&mut self.edits);
        self.collect_edits(from, first_fixup, &mut edits);
        if edits.is_empty() {
            // Every jump leaves the function and nothing is dead: nothing
            // moves, and the fixups stay as they are.
            self.fixups_relaxed = self.fixups.len();
            self.branches.clear();
            self.dead.clear();
            self.recent.clear();
            self.edits = edits;
            return &self.moved;
        }
        let mut moved = std::mem::take(&mut self.moved);
        settle(&mut edits, &mut moved);
        self.compact(from, end, &edits, &moved);
        // Shortened jumps need no fixup; the others' fields moved. (Both
        // lists are in code order.)
        let mut shortened = edits
            .iter()
            .filter(|e| e.jump.is_some() && e.new < e.old)
            .map(|e| e.start + e.old - 4)
            .peekable();
        let mut fields = moved.ascending();
        let mut kept = first_fixup;
        for index in first_fixup..self.fixups.len() {
            let (field, label) = self.fixups[index];
            let field = field as usize;
            while shortened.next_if(|&f| f < field).is_some() {}
            if shortened.next_if_eq(&field).is_some() {
                continue;
            }
            // Moved up, so it still fits.
            self.fixups[kept] = (fields.map(field) as u32, label);
            kept += 1;
        }
        self.fixups.truncate(kept);
        self.fixups_relaxed = kept;
        self.branches.clear();
        self.dead.clear();
        // Labels are bound in code order (a truncation unbinds the later
        // ones first), so this walks the edits once.
        let mut bounds = moved.ascending();
        for &label in &self.recent {
            let bound = &mut self.labels[label as usize];
            if *bound != super::UNBOUND && *bound as usize >= from {
                // Moved up, so it still fits.
                *bound = bounds.map(*bound as usize) as u32;
            }
        }
        self.recent.clear();
        self.edits = edits;
        self.moved = moved;
        &self.moved
    }

    /// The edits [`Self::relax`] may make to the code from `from` on (whose
    /// fixups start at `first_fixup`), in code order: jumps (recorded in
    /// code order) to labels in this code, and dead instructions (also in
    /// code order), each with how many edits start before it and before
    /// its target.
    fn collect_edits(&self, from: usize, first_fixup: usize, edits: &mut Vec<Edit>) {
        edits.clear();
        let end = self.code.len();
        // (Code before `from`, emitted since the last relaxation, such as
        // the trampoline, is not relaxed.)
        let mut dead = self.dead.iter().copied().filter(|&(at, _)| at >= from).peekable();
        // The jumps' fields are among the fixups, in the same order: one
        // walk finds them all.
        let mut fixup = first_fixup;
        for &start in self.branches.iter().filter(|&&at| at >= from) {
            while let Some((at, len)) = dead.next_if(|&(at, _)| at < start) {
                edits.push(Edit::dead(at, len));
            }
            let jmp = self.code[start] == 0xE9;
            let len = if jmp { 5 } else { 6 };
            let field = start + len - 4;
            while self.fixups.get(fixup).is_some_and(|&(at, _)| (at as usize) < field) {
                fixup += 1;
            }
            let &(_, label) = self
                .fixups
                .get(fixup)
                .filter(|&&(at, _)| at as usize == field)
                .expect("a recorded jump has its fixup");
            let target = self.label_offset(label);
            if let Some(target) = target.filter(|&at| (from..=end).contains(&at)) {
                edits.push(Edit {
                    start,
                    old: len,
                    new: len,
                    after: 0,
                    jump: Some(Shortenable {
                        jmp,
                        target,
                        target_after: 0,
                    }),
                });
            }
        }
        edits.extend(dead.map(|(at, len)| Edit::dead(at, len)));
        for index in 0..edits.len() {
            let start = edits[index].start;
            edits[index].after = match index {
                0 => 0,
                _ if edits[index - 1].start < start => index,
                _ => edits[index - 1].after,
            };
            if let Some(jump) = edits[index].jump {
                let target_after = if jump.target > start {
                    index + 1 + edits[index + 1..].partition_point(|e| e.start < jump.target)
                } else {
                    edits[..index].partition_point(|e| e.start < jump.target)
                };
                edits[index].jump = Some(Shortenable { target_after, ..jump });
            }
        }
    }

    /// Moves the code from `from` to `end` up over the `edits`, settled
    /// into `moved`, writing the shortened jumps. Every edit shrinks, so
    /// what is written never overtakes what is still to be read.
    fn compact(&mut self, from: usize, end: usize, edits: &[Edit], moved: &Relocation) {
        let mut write = from;
        let mut read = from;
        for edit in edits {
            self.code.copy_within(read..edit.start, write);
            write += edit.start - read;
            read = edit.start + edit.old;
            match (edit.jump, edit.new) {
                (None, _) | (Some(_), 0) => {}
                (Some(jump), 2) => {
                    let opcode = if jump.jmp {
                        0xEB
                    } else {
                        0x70 | (self.code[edit.start + 1] & 0x0F)
                    };
                    let target = moved.map_after(jump.target, jump.target_after);
                    self.code[write] = opcode;
                    self.code[write + 1] = (target as i64 - (write as i64 + 2)) as i8 as u8;
                    write += 2;
                }
                (Some(_), _) => {
                    self.code.copy_within(edit.start..read, write);
                    write += edit.old;
                }
            }
        }
        self.code.copy_within(read..end, write);
        self.code.truncate(write + (end - read));
    }
}
