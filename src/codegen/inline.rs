//! Which functions are small enough to be expanded at their call sites
//! instead of called ([`InlinePlan`]), decided once per program before any
//! function is lowered.
//!
//! A function is inlined when it takes part in no recursion (it lies on no
//! cycle of the call graph, so expanding it always ends) and its body,
//! with the calls it inlines itself expanded, has at most
//! [`MAX_INLINE_NODES`] nodes. The bound is on the expanded size, so a
//! call site never grows by more than that however deep the chain of
//! small helpers. Inlined code keeps its own spans and its trap sites name
//! its own function, so errors read as if it had been called; its own
//! code is still emitted (other programs, the API and `:asm` call it).

use crate::ir::{self, Expr, FuncId};

/// The largest body, in IR nodes after expanding what it inlines itself,
/// that is inlined: about the size of a two-line helper (`max`, a hash
/// mixing step, a five-way constant table), whose call would cost more
/// than its body.
pub const MAX_INLINE_NODES: usize = 32;

/// The inlining decision for every function of a program.
#[derive(Clone, Debug, Default)]
pub struct InlinePlan {
    inlinable: Vec<bool>,
}

impl InlinePlan {
    /// Decides for every function of `program`: one walk of each body, the
    /// strongly connected components of the call graph (Tarjan's
    /// algorithm, iteratively: a chain of 100,000 functions each calling the
    /// next must not exhaust the stack), then the expanded sizes, callees
    /// before callers.
    pub fn of(program: &ir::CheckedProgram) -> InlinePlan {
        let bodies: Vec<BodyFacts> = program.funcs.iter().map(|f| body_facts(&f.body)).collect();
        let components = strongly_connected_components(&bodies);
        let mut expanded = vec![usize::MAX; bodies.len()];
        let mut inlinable = vec![false; bodies.len()];
        // Tarjan's algorithm finds components callees first.
        for component in &components {
            let recursive =
                component.len() > 1 || bodies[component[0]].callees.contains(&component[0]);
            if recursive {
                continue;
            }
            let func = component[0];
            let mut size = bodies[func].nodes;
            for &callee in &bodies[func].callees {
                if inlinable[callee] {
                    // The call node is replaced by the callee's body.
                    size = size.saturating_add(expanded[callee] - 1);
                }
            }
            expanded[func] = size;
            inlinable[func] = size <= MAX_INLINE_NODES;
        }
        InlinePlan { inlinable }
    }

    /// Whether calls to `func` are expanded in place.
    pub fn inlines(&self, func: FuncId) -> bool {
        self.inlinable.get(func).copied().unwrap_or(false)
    }
}

/// What one walk of a body finds: its size and every call site's callee
/// (repeated once per site).
struct BodyFacts {
    nodes: usize,
    callees: Vec<FuncId>,
}

fn body_facts(body: &Expr) -> BodyFacts {
    let mut facts = BodyFacts {
        nodes: 0,
        callees: Vec::new(),
    };
    let mut work = vec![body];
    while let Some(expr) = work.pop() {
        facts.nodes += 1;
        if let Expr::Call { func, .. } = expr {
            facts.callees.push(*func);
        }
        expr.push_children(&mut work);
    }
    facts
}

/// The strongly connected components of the call graph, each a list of
/// functions, in reverse topological order (a component comes after every
/// component it calls into). Tarjan's algorithm with an explicit stack.
fn strongly_connected_components(bodies: &[BodyFacts]) -> Vec<Vec<FuncId>> {
    const UNVISITED: usize = usize::MAX;
    let count = bodies.len();
    let mut index = vec![UNVISITED; count];
    let mut lowlink = vec![0; count];
    let mut on_stack = vec![false; count];
    let mut stack = Vec::new();
    let mut components = Vec::new();
    let mut next_index = 0;
    // (function, how many of its call sites have been followed)
    let mut frames: Vec<(FuncId, usize)> = Vec::new();
    for root in 0..count {
        if index[root] != UNVISITED {
            continue;
        }
        frames.push((root, 0));
        index[root] = next_index;
        lowlink[root] = next_index;
        next_index += 1;
        stack.push(root);
        on_stack[root] = true;
        while let Some(top) = frames.last_mut() {
            let func = top.0;
            if let Some(&callee) = bodies[func].callees.get(top.1) {
                top.1 += 1;
                if index[callee] == UNVISITED {
                    index[callee] = next_index;
                    lowlink[callee] = next_index;
                    next_index += 1;
                    stack.push(callee);
                    on_stack[callee] = true;
                    frames.push((callee, 0));
                } else if on_stack[callee] {
                    lowlink[func] = lowlink[func].min(index[callee]);
                }
                continue;
            }
            frames.pop();
            if let Some(&(caller, _)) = frames.last() {
                lowlink[caller] = lowlink[caller].min(lowlink[func]);
            }
            if lowlink[func] == index[func] {
                let mut component = Vec::new();
                loop {
                    let member = stack.pop().expect("the component's root is on the stack");
                    on_stack[member] = false;
                    component.push(member);
                    if member == func {
                        break;
                    }
                }
                components.push(component);
            }
        }
    }
    components
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::{Timings, front_end};

    fn plan(source: &str) -> (InlinePlan, ir::CheckedProgram) {
        let program = front_end(source, &[], &mut Timings::default()).expect("valid");
        (InlinePlan::of(&program), program)
    }

    fn id(program: &ir::CheckedProgram, name: &str) -> FuncId {
        program
            .funcs
            .iter()
            .position(|f| f.name == name)
            .expect("defined")
    }

    #[test]
    fn small_helpers_are_inlined_and_recursion_is_not() {
        let (plan, program) = plan(
            "fn max(a, b) = if a > b then a else b\n\
             fn fib(n) = if n < 2 then n else fib(n - 1) + fib(n - 2)\n\
             fn even(n) = if n == 0 then 1 else odd(n - 1)\n\
             fn odd(n) = if n == 0 then 0 else even(n - 1)\n\
             fn uses(x) = max(x, fib(x)) + even(x)\n",
        );
        assert!(plan.inlines(id(&program, "max")));
        assert!(!plan.inlines(id(&program, "fib")), "self-recursive");
        assert!(!plan.inlines(id(&program, "even")), "mutually recursive");
        assert!(!plan.inlines(id(&program, "odd")), "mutually recursive");
        assert!(
            plan.inlines(id(&program, "uses")),
            "small, and calls are fine"
        );
    }

    #[test]
    fn the_bound_is_on_the_expanded_size() {
        // f0 has 3 nodes; each level is 7 nodes besides the two calls of
        // the level below, whose bodies replace them while that level is
        // inlined: 3, 11, 27, then 59 (over the bound). f4 calls f3, which
        // is not inlined, so f4 is small again.
        let mut source = String::from("fn f0(x) = x + 1\n");
        for level in 1..6 {
            let below = level - 1;
            source.push_str(&format!("fn f{level}(x) = f{below}(x) * f{below}(x + 1)\n"));
        }
        let (plan, program) = plan(&source);
        let inlined: Vec<bool> = (0..6)
            .map(|l| plan.inlines(id(&program, &format!("f{l}"))))
            .collect();
        assert_eq!(inlined, [true, true, true, false, true, true]);
    }

    #[test]
    fn long_call_chains_do_not_exhaust_the_stack() {
        let mut source = String::from("fn f0(x) = x\n");
        for i in 1..20_000 {
            source.push_str(&format!(
                "fn f{i}(x) = if x == 0 then 0 else f{}(x - 1) + {i} * 1000000\n",
                i - 1
            ));
        }
        source.push_str("fn f20000(x) = f19999(x) + f20000(x - 1)\n");
        let (plan, program) = plan(&source);
        assert!(plan.inlines(id(&program, "f0")));
        assert!(!plan.inlines(id(&program, "f20000")));
    }
}
