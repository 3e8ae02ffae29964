//! The layering ARCHITECTURE.md promises, checked on the source text:
//! nothing under `src/jit/` knows the code generator, `unsafe` lives only
//! in `src/jit/` with a `// SAFETY:` comment on every block, and no file
//! grows past the size a newcomer can read.

use std::fs;
use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`, recursively.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            files.push(path);
        }
    }
    files.sort();
    files
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn nothing_in_jit_knows_how_code_is_generated() {
    for file in rust_files(&src().join("jit")) {
        let text = fs::read_to_string(&file).unwrap();
        assert!(
            !text.contains("crate::codegen") && !text.contains("super::super::codegen"),
            "{} imports the code generator; the jit reads only crate::artifact and crate::abi",
            file.display()
        );
    }
}

#[test]
fn nothing_in_debuginfo_knows_how_code_is_generated() {
    for file in rust_files(&src().join("debuginfo")) {
        let text = fs::read_to_string(&file).unwrap();
        assert!(
            !text.contains("crate::codegen") && !text.contains("super::super::codegen"),
            "{} imports the code generator; debuginfo reads only crate::artifact",
            file.display()
        );
    }
}

#[test]
fn unsafe_only_in_jit_and_every_block_says_why() {
    for file in rust_files(&src()) {
        let text = fs::read_to_string(&file).unwrap();
        let in_jit = file.starts_with(src().join("jit"));
        let lines: Vec<&str> = text.lines().collect();
        for (index, line) in lines.iter().enumerate() {
            let code = line.split("//").next().unwrap_or_default();
            let opens_block = code.contains("unsafe {") || code.trim_end().ends_with("unsafe");
            if !code.contains("unsafe") {
                continue;
            }
            assert!(
                in_jit,
                "{}:{}: unsafe outside src/jit/",
                file.display(),
                index + 1
            );
            if opens_block {
                // The SAFETY comment is on one of the lines just above (a
                // comment may run over several lines, or sit above the
                // statement the block is part of).
                let above = &lines[index.saturating_sub(12)..index];
                assert!(
                    above.iter().any(|l| l.contains("SAFETY:")),
                    "{}:{}: unsafe block without a // SAFETY: comment",
                    file.display(),
                    index + 1
                );
            }
        }
    }
}

/// Lines of code: not blank, not a comment, not in a `#[cfg(test)]` item or
/// a `*_tests.rs` file.
fn lines_of_code(text: &str) -> usize {
    let mut count = 0;
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let trimmed = line.trim();
        if trimmed.starts_with("#[cfg(test)]") {
            // Skip the item that follows, to its closing brace.
            let mut depth = 0i32;
            let mut opened = false;
            for line in lines.by_ref() {
                depth += line.matches('{').count() as i32 - line.matches('}').count() as i32;
                opened |= line.contains('{');
                if opened && depth <= 0 {
                    break;
                }
            }
            continue;
        }
        if !trimmed.is_empty() && !trimmed.starts_with("//") {
            count += 1;
        }
    }
    count
}

#[test]
fn no_file_has_more_than_700_lines_of_code() {
    for file in rust_files(&src()) {
        if file.to_string_lossy().ends_with("_tests.rs") {
            continue;
        }
        let count = lines_of_code(&fs::read_to_string(&file).unwrap());
        assert!(count <= 700, "{} has {count} lines of code", file.display());
    }
}

#[test]
fn the_lowering_is_split() {
    let lower = src().join("codegen/lower/mod.rs");
    let count = lines_of_code(&fs::read_to_string(lower).unwrap());
    assert!(
        count < 600,
        "codegen/lower/mod.rs has {count} lines of code"
    );
}

#[test]
fn the_library_api_is_the_only_public_surface() {
    // Every module the crate root makes public is the CLI's entry (behind
    // the `cli` feature) or the internals for the tests (behind
    // `internals`), hidden from the docs; the API itself is re-exported.
    let lib = fs::read_to_string(src().join("lib.rs")).unwrap();
    let lines: Vec<&str> = lib.lines().collect();
    for (index, line) in lines.iter().enumerate() {
        if line.trim_start().starts_with("pub mod") {
            let above = lines[index.saturating_sub(3)..index].join("\n");
            assert!(
                above.contains("#[doc(hidden)]") && above.contains("feature = "),
                "src/lib.rs:{}: `{line}` is public without being a hidden, feature-gated module",
                index + 1
            );
        }
    }
    assert!(
        lib.contains("pub use api::{"),
        "the API is re-exported at the root"
    );
}
