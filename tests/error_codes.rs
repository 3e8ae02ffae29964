//! Every diagnostic the golden tests show carries a stable error code, and
//! every code it shows is documented in `docs/errors.md`.

use std::path::Path;

fn stderr_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            stderr_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "stderr") {
            out.push(path);
        }
    }
}

#[test]
fn every_golden_diagnostic_has_a_documented_code() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let docs = std::fs::read_to_string(root.join("docs/errors.md")).unwrap();
    let mut files = Vec::new();
    stderr_files(&root.join("tests/golden"), &mut files);
    let mut headers = 0;
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        // A diagnostic about the source: a headline, then its location. (The
        // REPL's complaints about its own commands, like the command line's
        // usage errors, are not diagnostics and have no code.)
        let diagnostics = lines.windows(2).filter(|pair| {
            pair[0].starts_with("error") && (pair[1].contains("┌─") || pair[1].contains("-->"))
        });
        for line in diagnostics.map(|pair| pair[0]) {
            headers += 1;
            let code = line
                .strip_prefix("error[")
                .and_then(|rest| rest.split_once(']'))
                .map(|(code, _)| code)
                .unwrap_or_else(|| panic!("{}: no error code in {line:?}", file.display()));
            assert!(
                docs.contains(&format!("| {code} |")),
                "{}: {code} is not in docs/errors.md",
                file.display()
            );
        }
    }
    assert!(
        headers > 40,
        "only {headers} diagnostics found in the goldens"
    );
}
