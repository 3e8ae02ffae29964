//! Arbitrary bytes through the whole compiler, as `exprjit --check` and
//! `--emit tokens|ast|asm` see them: UTF-8 decoding, lexing, parsing,
//! checking, rendering every diagnostic, and for programs that check, code
//! generation, disassembly and loading into executable memory. Nothing is
//! run (a generated program may loop forever). Any panic, crash or hang is
//! a bug.

#![no_main]

use libfuzzer_sys::fuzz_target;

use exprjit::diag::SourceFile;
use exprjit::pipeline::{self, Timings};
use exprjit::{lexer, parser};

fuzz_target!(|data: &[u8]| {
    let bytes = data.to_vec();
    // Like the CLI, compile on a thread with the compiler's big stack: the
    // stages after parsing recurse per nesting level.
    std::thread::Builder::new()
        .stack_size(pipeline::COMPILER_STACK_SIZE)
        .spawn(move || compile(bytes))
        .expect("spawn the compiler thread")
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
});

fn compile(bytes: Vec<u8>) {
    let text = match pipeline::decode_utf8(bytes) {
        Ok(text) => text,
        Err(invalid) => {
            let (text, diagnostic) = *invalid;
            diagnostic.render(&SourceFile::new("<fuzz>", text));
            return;
        }
    };
    let file = SourceFile::new("<fuzz>", text);

    // --emit tokens: every token's line and column.
    for (start, _, _) in &lexer::tokenize(&file.text).tokens {
        file.line_col(*start);
    }
    // --emit ast.
    let _ = parser::parse(&file.text).program.to_string();

    let mut timings = Timings::default();
    match pipeline::front_end(&file.text, &mut timings) {
        Err(diagnostics) => {
            for diagnostic in &diagnostics {
                diagnostic.render(&file);
            }
        }
        Ok(program) => {
            // --emit asm.
            let _ = pipeline::write_asm_listing(&program, None, false, &mut std::io::sink());
            pipeline::back_end(&program, &mut timings).expect("map executable memory");
        }
    }
}
