//! Embedding exprjit: a shop lets its staff write discount rules as
//! formulas; the program compiles each rule once and applies it to every
//! order, on several threads.
//!
//! ```sh
//! cargo run --release --example embed
//! ```

use std::time::Instant;

/// The rules, as a user would type them into a settings page: prices are in
/// cents, the result is the discount in cents.
const RULES: &str = "\
# 10% off orders of 100.00 or more, 5% for loyal customers, never over 50.00
fn discount(total, years) = min(base(total) + loyal(total, years), 5000)
fn base(total) = if total >= 10000 then total / 10 else 0
fn loyal(total, years) = if years >= 3 then total * 5 / 100 else 0
fn min(a, b) = if a < b then a else b
";

/// A rule with mistakes, to show what the user would see.
const BROKEN_RULE: &str =
    "fn discount(total, years) = if total > 100 then totl / 10 else bas(total)";

fn main() -> Result<(), exprjit::Error> {
    // A mistake in a rule is a readable diagnostic, not a crash.
    if let Err(error) = exprjit::compile_named("discount rule", BROKEN_RULE) {
        print!("The broken rule is rejected:\n{error}");
    }

    let program = exprjit::compile_named("discount rules", RULES)?;
    // Name and number of parameters are checked once, here.
    let discount = program.func::<2>("discount")?;
    println!(
        "discount(250.00, 5 years) = {} cents",
        discount.call([25_000, 5])?
    );

    // Apply the rule to a million orders on four threads: the program is
    // Sync, each thread runs its share as one batch (the loop over the
    // orders runs inside the generated code, on the thread's own JIT stack).
    let orders: Vec<[i64; 2]> = (0..1_000_000i64)
        .map(|i| [(i * 7919) % 40_000, i % 7])
        .collect();
    let mut discounts = vec![0i64; orders.len()];
    let start = Instant::now();
    std::thread::scope(|scope| {
        let share = orders.len().div_ceil(4);
        let workers: Vec<_> = orders
            .chunks(share)
            .zip(discounts.chunks_mut(share))
            .map(|(orders, out)| scope.spawn(move || discount.call_many(orders, out)))
            .collect();
        workers
            .into_iter()
            .try_for_each(|worker| worker.join().expect("worker thread"))
    })?;
    let elapsed = start.elapsed();
    let total: i64 = discounts.iter().sum();
    println!(
        "{} orders, {} cents of discounts, in {:?} ({:.0} million orders/s)",
        orders.len(),
        total,
        elapsed,
        orders.len() as f64 / elapsed.as_secs_f64() / 1e6
    );

    // The same rule through a handle whose arity is known only at run
    // time, as a host that reads rules from its users would hold it.
    let by_name = program.func_dyn("discount")?;
    println!(
        "{}({}) = {} cents",
        by_name.name(),
        by_name.params().join(", "),
        by_name.call(&[25_000, 5])?
    );

    // Runtime errors carry the place in the rule that failed.
    let per_item =
        exprjit::compile_named("per-item rule", "fn per_item(total, items) = total / items")?;
    let per_item = per_item.func::<2>("per_item")?;
    match per_item.call([1000, 0]) {
        Ok(value) => println!("per item: {value}"),
        Err(error) => print!("An order with no items:\n{}", error.render()),
    }

    // Quick one-off evaluation.
    println!("1 + 2 * 3 = {}", exprjit::eval("1 + 2 * 3")?);
    Ok(())
}
