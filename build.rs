//! Compiles the LALRPOP grammar in `grammar/` into the parser tables that
//! `src/parser.rs` includes.

fn main() {
    lalrpop::Configuration::new()
        .set_in_dir("grammar")
        .emit_rerun_directives(true)
        .process()
        .expect("the grammar in grammar/ failed to compile");
}
