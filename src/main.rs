//! The `exprjit` command. It lives in the library (`exprjit::cli`, built
//! with the default `cli` feature) so that it can use the compiler's
//! internals, which are not public.

fn main() -> std::process::ExitCode {
    exprjit::cli::main()
}
