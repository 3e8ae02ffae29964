//! Where the parameters live, planned once per attempt before any code is
//! emitted ([`Layout`]): on entry, once the frame is set up, and at the
//! head of the function's loop. Planning it up front is what lets code on
//! different paths agree: every path that sets the frame up moves the
//! parameters to the same homes, and a self tail call from any of them
//! can jump to the one loop head with the values where that head expects
//! them.

use smallvec::SmallVec;

use super::FuncLowering;
use crate::abi::{ARG_REGS, Reg};
use crate::codegen::regs::{Home, POOL, RegSet};
use crate::codegen::x64::Mem;

/// The parameters' homes in each state of the function.
#[derive(Clone, Debug, Default)]
pub(super) struct Layout {
    /// On entry, before any frame: the argument registers (a parameter in
    /// `rcx`/`rdx` that fixed instructions would clobber moves to another
    /// caller-saved register), and the incoming stack slots from `rsp`.
    pub(super) entry: SmallVec<[Home; 8]>,
    /// Once the frame is set up: parameters live across a call in
    /// callee-saved registers or reserved slots, stack slots from `rbp`.
    pub(super) framed: SmallVec<[Home; 8]>,
    /// At the head of the loop: the framed homes (the entry ones in a
    /// frameless function), with stack parameters moved into registers
    /// where registers are to spare.
    pub(super) looping: SmallVec<[Home; 8]>,
    /// Constants the loop keeps in registers, materialised before its head.
    pub(super) hoisted: SmallVec<[(i64, Reg); 4]>,
    /// Where an accumulating loop keeps its sum (see `loops`).
    pub(super) accumulator: Option<Home>,
    /// Some parameter needs a stable home before anything else runs (it
    /// arrives in a register fixed instructions clobber): the frame is set
    /// up on entry.
    pub(super) frame_on_entry: bool,
    /// Slots `0..reserved_slots` hold parameters for the whole function.
    pub(super) reserved_slots: usize,
}

impl FuncLowering<'_> {
    /// Plans the [`Layout`] of this attempt into `layout` (a default one);
    /// returns false if a frameless attempt has too few registers for it.
    /// (Filled in place: a returned layout was copied twice on its way.)
    pub(super) fn plan_layout(&self, layout: &mut Layout) -> bool {
        let arity = self.func.arity;
        let mut used = RegSet::EMPTY;
        for param in 0..arity {
            layout.entry.push(match ARG_REGS.get(param) {
                Some(&reg) => {
                    used.insert(reg);
                    Home::Reg(reg)
                }
                None => Home::Mem(Mem::new(Reg::Rsp, 8 + 8 * (param - ARG_REGS.len()) as i32)),
            });
        }
        // Parameters in `rcx`/`rdx` move out of the way of division and
        // variable shifts: to a free caller-saved register outside the
        // fixed ones, or to their stable home on entry.
        let mut fixed_params: SmallVec<[usize; 3]> = SmallVec::new();
        for (param, &reg) in ARG_REGS.iter().enumerate().take(arity) {
            if self.shape.fixed.has(reg) {
                fixed_params.push(param);
            }
        }
        for &param in &fixed_params {
            if self.wants_stable_home(param) || !self.shape.pool_homes {
                layout.frame_on_entry |= self.frame.allowed();
                if self.frame.allowed() {
                    continue;
                }
            }
            let free = POOL
                .into_iter()
                .find(|&r| !used.has(r) && !self.home_avoid().has(r));
            match free {
                Some(reg) => {
                    used.insert(reg);
                    layout.entry[param] = Home::Reg(reg);
                }
                None if self.frame.allowed() => layout.frame_on_entry = true,
                None => return false,
            }
        }
        for &param in &fixed_params {
            if layout.entry[param] != Home::Reg(ARG_REGS[param]) {
                used.remove(ARG_REGS[param]);
            }
        }
        // (Copies of `Copy` lists from slices: `clone` goes element by
        // element.)
        layout.framed = SmallVec::from_slice(&layout.entry);
        let mut saved = self.frame.saved.iter().copied();
        for param in 0..arity {
            match layout.entry[param] {
                Home::Reg(reg) if self.needs_framed_home(param, reg) => {
                    layout.framed[param] = match saved.next() {
                        Some(callee_saved) => Home::Reg(callee_saved),
                        None => {
                            layout.reserved_slots += 1;
                            Home::Slot(layout.reserved_slots as u32 - 1)
                        }
                    };
                }
                Home::Mem(mem) if self.frame.allowed() => {
                    // Addressed from `rbp` once the frame is set up.
                    layout.framed[param] = Home::Mem(Mem::new(Reg::Rbp, mem.disp + 8));
                }
                _ => {}
            }
        }
        layout.looping = if self.frame.allowed() {
            SmallVec::from_slice(&layout.framed)
        } else {
            SmallVec::from_slice(&layout.entry)
        };
        if self.func.facts.accumulates {
            // Live across the calls of the loop body if it makes any.
            let mut taken = RegSet::EMPTY;
            for home in &layout.looping {
                if let &Home::Reg(reg) = home {
                    taken.insert(reg);
                }
            }
            // Not `rax`: return values are loaded there before the sum is
            // added.
            let avoid = self.home_avoid().with(Reg::Rax);
            // (A caller-saved one only in a loop without calls, and not in
            // the fallback attempt, which keeps the pool for temporaries.)
            let pool = POOL.into_iter().find(|&r| {
                !taken.has(r)
                    && !avoid.has(r)
                    && self.shape.only_tail_calls
                    && self.shape.pool_homes
            });
            layout.accumulator = Some(match pool.or_else(|| saved.next()) {
                Some(reg) => Home::Reg(reg),
                None => {
                    layout.reserved_slots += 1;
                    Home::Slot(layout.reserved_slots as u32 - 1)
                }
            });
        }
        if self.shape.self_loop && self.shape.pool_homes {
            self.plan_loop_registers(layout);
        }
        true
    }

    /// Whether parameter `param`, arriving in `reg`, moves when the frame
    /// is set up: it must survive calls, or (fixed instructions) leave
    /// `rcx`/`rdx` for a stable place.
    fn needs_framed_home(&self, param: usize, reg: Reg) -> bool {
        self.frame.allowed()
            && POOL.contains(&reg)
            && (self.wants_stable_home(param) || self.fixed_would_clobber(reg))
    }

    /// Registers free for the whole loop: those the temporaries (the
    /// analysis's bound) and, in a function that calls, the values waiting
    /// at a call do not need. Stack parameters take them first (each saves
    /// a load and a store per iteration), then the constants that fit no
    /// immediate, most used first.
    fn plan_loop_registers(&self, layout: &mut Layout) {
        let calls = !self.shape.only_tail_calls;
        let mut used = RegSet::EMPTY;
        for home in layout.looping.iter().chain(&layout.accumulator) {
            if let &Home::Reg(reg) = home {
                used.insert(reg);
            }
        }
        let saved: &[Reg] = if self.frame.allowed() {
            &self.frame.saved
        } else {
            &[]
        };
        let free_saved = saved.iter().filter(|&&r| !used.has(r)).count();
        let free_pool = POOL.iter().filter(|&&r| !used.has(r)).count();
        // One register beyond the analysis's bound stays free: the bound
        // does not see every copy the allocator makes, and running out
        // costs spills in the loop.
        let mut spare = if let Some(budget) = self.shape.loop_budget {
            budget
        } else if calls {
            // Temporaries live in caller-saved registers; what waits at a
            // call takes callee-saved ones.
            free_saved.saturating_sub(self.func.facts.pending_at_call + 1)
        } else {
            (free_pool + free_saved).saturating_sub(self.func.facts.registers + 1)
        };
        let avoid = self.home_avoid();
        let mut take = |across_calls: bool, used: &mut RegSet| -> Option<Reg> {
            if spare == 0 {
                return None;
            }
            let pool = POOL.into_iter().filter(|&r| !avoid.has(r));
            let reg = if across_calls {
                saved.iter().copied().find(|&r| !used.has(r))
            } else {
                pool.chain(saved.iter().copied()).find(|&r| !used.has(r))
            }?;
            spare -= 1;
            used.insert(reg);
            Some(reg)
        };
        for param in ARG_REGS.len()..self.func.arity {
            if !matches!(layout.looping[param], Home::Mem(_)) {
                continue;
            }
            let Some(reg) = take(calls && self.func.facts.across_call[param], &mut used) else {
                break;
            };
            layout.looping[param] = Home::Reg(reg);
        }
        let mut constants = self.func.facts.constants.clone();
        // Most used first; ties in order of first use.
        constants.sort_by_key(|&(_, uses)| std::cmp::Reverse(uses));
        for (value, _) in constants {
            let Some(reg) = take(calls, &mut used) else {
                break;
            };
            layout.hoisted.push((value, reg));
        }
    }
}
