//! Batches and run-time arity: `Func::call_many`, `DynFunc` and its
//! `call_many` give the same answers as one call per row, stop at the row
//! that fails, and can be interrupted even when the function makes no calls
//! (the batch loop itself checks).

use std::time::Duration;

use exprjit::{ErrorCode, Interrupt};

const FORMULAS: &str = "\
fn none() = 42
fn one(x) = x * 3 - (x >> 2)
fn pick(a, b) = if a > b then a - b else b * 2 + a
fn ratio(a, b) = a / b
fn eight(a, b, c, d, e, f, g, h) = a - b + c * d - e / (f | 1) + g ^ h
fn seven(a, b, c, d, e, f, g) = a + 2 * b + 3 * c + 4 * d + 5 * e + 6 * f + 7 * g
fn through(a, b, c) = pick(a, b) + ratio(c, a)
fn depth(n) = if n == 0 then 0 else 1 + depth(n - 1)
";

/// A few thousand rows of small pseudo-random values and edge values.
fn rows<const N: usize>(count: usize) -> Vec<[i64; N]> {
    let edges = [0, 1, -1, 2, 7, -64, i64::MAX, i64::MIN];
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    (0..count)
        .map(|i| {
            std::array::from_fn(|k| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                if (i + k) % 5 == 0 {
                    edges[(state % edges.len() as u64) as usize]
                } else {
                    (state % 2001) as i64 - 1000
                }
            })
        })
        .collect()
}

/// `call_many` stores what a call per row returns, or stops at the first
/// row whose call fails, with that error and every earlier result.
fn agrees<const N: usize>(program: &exprjit::Program, name: &str, rows: &[[i64; N]]) {
    let func = program.func::<N>(name).unwrap();
    let mut out = vec![i64::MIN; rows.len()];
    let batch = func.call_many(rows, &mut out);
    let first_error = rows.iter().position(|row| func.call(*row).is_err());
    match first_error {
        None => assert_eq!(batch, Ok(()), "{name}"),
        Some(row) => {
            let error = batch.unwrap_err();
            assert_eq!(error.row(), Some(row), "{name}");
            assert_eq!(error.code(), func.call(rows[row]).unwrap_err().code());
        }
    }
    let done = first_error.unwrap_or(rows.len());
    for (i, row) in rows[..done].iter().enumerate() {
        assert_eq!(out[i], func.call(*row).unwrap(), "{name}, row {i}");
    }
    // The same through the run-time-arity handle, with an extra column.
    let dynamic = program.func_dyn(name).unwrap();
    let stride = N + 1;
    let flat: Vec<i64> = rows
        .iter()
        .flat_map(|row| row.iter().copied().chain([-7]))
        .collect();
    let mut dyn_out = vec![i64::MIN; rows.len()];
    let dyn_batch = dynamic.call_many(&flat, stride, &mut dyn_out);
    assert_eq!(
        dyn_batch.map_err(|e| e.row()),
        batch_rows(first_error),
        "{name}"
    );
    assert_eq!(dyn_out[..done], out[..done], "{name}");
}

fn batch_rows(first_error: Option<usize>) -> Result<(), Option<usize>> {
    match first_error {
        None => Ok(()),
        Some(row) => Err(Some(row)),
    }
}

#[test]
fn batches_agree_with_one_call_per_row() {
    let program = exprjit::compile(FORMULAS).unwrap();
    agrees::<0>(&program, "none", &rows(10));
    agrees::<1>(&program, "one", &rows(3000));
    agrees::<2>(&program, "pick", &rows(3000));
    agrees::<2>(&program, "ratio", &rows(3000));
    agrees::<3>(&program, "through", &rows(3000));
    // Stack arguments: an odd and an even number of them.
    agrees::<7>(&program, "seven", &rows(2000));
    agrees::<8>(&program, "eight", &rows(2000));
    // An empty batch does nothing.
    agrees::<2>(&program, "pick", &[]);
}

#[test]
fn a_failing_row_stops_the_batch_and_is_named() {
    let program = exprjit::compile(FORMULAS).unwrap();
    let ratio = program.func::<2>("ratio").unwrap();
    let mut out = [0; 4];
    let error = ratio
        .call_many(&[[10, 2], [9, 3], [1, 0], [8, 4]], &mut out)
        .unwrap_err();
    assert_eq!(error.code(), ErrorCode::DivisionByZero);
    assert_eq!(error.row(), Some(2));
    assert_eq!(
        error.to_string(),
        "division by zero at <source>:4:20 (row 2)"
    );
    assert_eq!(out[..2], [5, 3]);
    // Deep recursion inside a batch is a stack overflow in that row.
    let depth = program.func::<1>("depth").unwrap();
    let mut out = [0; 3];
    let error = depth
        .call_many(&[[3], [100_000_000], [2]], &mut out)
        .unwrap_err();
    assert_eq!(
        (error.code(), error.row()),
        (ErrorCode::StackOverflow, Some(1))
    );
    // The thread's stack is usable again afterwards.
    depth.call_many(&[[3], [5]], &mut out[..2]).unwrap();
    assert_eq!(out[..2], [3, 5]);
}

#[test]
fn dynamic_calls_check_the_argument_count() {
    let program = exprjit::compile(FORMULAS).unwrap();
    let pick = program.func_dyn("pick").unwrap();
    assert_eq!(
        (pick.arity(), pick.params()),
        (2, &["a".to_owned(), "b".to_owned()][..])
    );
    assert_eq!(
        pick.call(&[5, 3]),
        program.func::<2>("pick").unwrap().call([5, 3])
    );
    for wrong in [&[][..], &[1][..], &[1, 2, 3][..]] {
        let error = pick.call(wrong).unwrap_err();
        assert_eq!(error.code(), ErrorCode::WrongArgumentCount);
    }
    let eight = program.func_dyn("eight").unwrap();
    assert_eq!(
        eight.call(&[1, 2, 3, 4, 5, 6, 7, 8]),
        program
            .func::<8>("eight")
            .unwrap()
            .call([1, 2, 3, 4, 5, 6, 7, 8])
    );
    let mut out = [0; 2];
    for (values, stride) in [
        (&[1, 2, 3, 4][..], 1),
        (&[1, 2, 3][..], 2),
        (&[1, 2][..], 2),
    ] {
        let error = pick.call_many(values, stride, &mut out).unwrap_err();
        assert_eq!(
            error.code(),
            ErrorCode::BatchShape,
            "{values:?} by {stride}"
        );
    }
    assert_eq!(
        program.func_dyn("nope").unwrap_err().code(),
        ErrorCode::NoSuchFunction
    );
}

#[test]
fn an_interrupt_stops_a_batch_of_a_function_without_calls() {
    // Each row is slow (a chain of divisions) and makes no call, so only
    // the batch loop's own check can notice the interrupt.
    let program = exprjit::compile(
        "fn slow(x) = ((((((((x / 3 + x) / 5 + x) / 7 + x) / 11 + x) / 13 + x) / 17 + x) / 19 + x) / 23) / (x | 1)",
    )
    .unwrap();
    let slow = program.func::<1>("slow").unwrap();
    let rows: Vec<[i64; 1]> = (1..=4_000_000).map(|x| [x]).collect();
    let mut out = vec![0; rows.len()];
    let interrupt = Interrupt::new();
    let error = std::thread::scope(|scope| {
        let batch = scope.spawn(|| slow.call_many_interruptible(&rows, &mut out, &interrupt));
        while !batch.is_finished() {
            std::thread::sleep(Duration::from_millis(5));
            interrupt.request();
        }
        batch.join().unwrap()
    });
    let error = error.expect_err("the batch was interrupted");
    assert_eq!(error.code(), ErrorCode::Interrupted);
    let row = error.row().expect("the row it stopped at");
    assert!(row < rows.len());
    assert_eq!(
        out[..row],
        rows[..row]
            .iter()
            .map(|r| slow.call(*r).unwrap())
            .collect::<Vec<_>>()
    );
}

#[test]
fn a_batch_gets_its_programs_stack_size() {
    // With a 1 MiB stack a recursion a few thousand deep fits, and one a
    // million deep overflows at once instead of after a gigabyte.
    let config = exprjit::Config::default().with_stack_size(1 << 20);
    let program = exprjit::compile_with(FORMULAS, &config).unwrap();
    let depth = program.func::<1>("depth").unwrap();
    let mut out = [0; 2];
    depth.call_many(&[[1000], [2000]], &mut out).unwrap();
    assert_eq!(out, [1000, 2000]);
    let error = depth.call_many(&[[10], [1_000_000]], &mut out).unwrap_err();
    assert_eq!(
        (error.code(), error.row()),
        (ErrorCode::StackOverflow, Some(1))
    );
}

#[test]
fn dynamic_calls_of_every_arity_direct_or_not() {
    // For each arity up to eight, a function without trap sites (called
    // directly, through the argument loader up to six) and one with a
    // division that can trap (through the trampoline): each agrees with
    // its closed form, and the trapping one still fails.
    let mut source = String::new();
    for arity in 0..=8 {
        let params: Vec<String> = (0..arity).map(|i| format!("p{i}")).collect();
        let sum = (0..arity)
            .map(|i| format!("{} * p{i}", i + 1))
            .chain(["100".to_owned()])
            .collect::<Vec<_>>()
            .join(" + ");
        let params = params.join(", ");
        source.push_str(&format!("fn plain{arity}({params}) = {sum}\n"));
        source.push_str(&format!(
            "fn ratio{arity}({params}) = 1000 / ({sum} - 100)\n"
        ));
    }
    let program = exprjit::compile(&source).unwrap();
    for arity in 0..=8usize {
        let args: Vec<i64> = (0..arity as i64).map(|i| 10 - i).collect();
        let weighted: i64 = args.iter().zip(1..).map(|(a, w)| a * w).sum();
        let plain = program.func_dyn(&format!("plain{arity}")).unwrap();
        assert_eq!(plain.call(&args), Ok(weighted + 100), "plain{arity}");
        let ratio = program.func_dyn(&format!("ratio{arity}")).unwrap();
        if arity == 0 {
            assert_eq!(
                ratio.call(&args).unwrap_err().code(),
                ErrorCode::DivisionByZero
            );
        } else {
            assert_eq!(ratio.call(&args), Ok(1000 / weighted), "ratio{arity}");
            let zeros = vec![0; arity];
            let error = ratio.call(&zeros).unwrap_err();
            assert_eq!(error.code(), ErrorCode::DivisionByZero, "ratio{arity}");
        }
        let too_many = vec![1; arity + 1];
        let error = plain.call(&too_many).unwrap_err();
        assert_eq!(error.code(), ErrorCode::WrongArgumentCount);
    }
}

#[test]
fn a_dynamic_call_overflows_and_recovers() {
    // Through the argument loader and the trampoline: the trap exit
    // leaves the loader's caller as it leaves the trampoline's.
    let program =
        exprjit::compile("fn down(n, k) = if n == 0 then k else 1 + down(n - 1, k)").unwrap();
    let down = program.func_dyn("down").unwrap();
    let error = down.call(&[i64::MAX, 0]).unwrap_err();
    assert_eq!(error.code(), ErrorCode::StackOverflow);
    assert_eq!(down.call(&[1000, 5]), Ok(1005));
}
