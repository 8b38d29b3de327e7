//! `compiler/tests/data/*.toml` and `examples/*.toml`: each compiles, its definition and plan match the snapshot,
//! and every definition passes asl-validator. Adding a case means adding a file.

use std::path::{Path, PathBuf};
use std::process::Command;

#[test]
fn fixtures_compile_to_valid_asl() {
    let mut definitions = Vec::new();
    let mut snapshot = |path: &Path| {
        let source = std::fs::read_to_string(path).expect("fixture readable");
        let compiled = crate::compile(&source, path);
        insta::assert_snapshot!(format!(
            "{}\n\n{}",
            crate::summary(&compiled.plan),
            compiled.json
        ));
        definitions.push((path.to_owned(), compiled.json));
    };
    insta::glob!("../data", "*.toml", |path| snapshot(path));
    insta::glob!("../../../examples", "*.toml", |path| snapshot(path));
    let expected = toml_files("tests/data") + toml_files("../examples");
    assert!(expected > 0, "no fixtures found");
    assert_eq!(
        definitions.len(),
        expected,
        "every fixture and example is compiled"
    );
    asl_validate(&definitions);
}

/// The number of `.toml` files in `dir`, relative to the crate.
fn toml_files(dir: &str) -> usize {
    std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(dir))
        .expect("fixture dir")
        .filter(|entry| {
            entry
                .as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "toml"))
        })
        .count()
}

/// Runs asl-validator 4.x (pinned in tools/package.json; `scripts/test` installs it) on every definition.
pub fn asl_validate(definitions: &[(PathBuf, String)]) {
    let validator = std::env::var_os("STEPBACK_ASL_VALIDATOR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../tools/node_modules/.bin/asl-validator")
        });
    assert!(
        validator.exists(),
        "asl-validator not found at {}: run scripts/test, which installs it, or set STEPBACK_ASL_VALIDATOR",
        validator.display()
    );
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("asl");
    std::fs::create_dir_all(&dir).expect("temp dir");
    for (source, json) in definitions {
        let stem = source
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("definition");
        // The target's tmp directory is shared by every run of this binary on the machine: one file per process.
        let file = dir.join(format!("{stem}.{}.asl.json", std::process::id()));
        std::fs::write(&file, json).expect("definition written");
        let output = Command::new(&validator)
            .arg("--json-path")
            .arg(&file)
            .output()
            .expect("asl-validator runs");
        std::fs::remove_file(&file).expect("definition removed");
        assert!(
            output.status.success(),
            "asl-validator rejects {}:\n{}{}",
            source.display(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

/// `compile` lists the `DefinitionSubstitutions` a definition needs: only the function ARNs, however much user
/// text holds `${` (tests/data/shell-variables.toml has it in a description, a default, commands, a message).
#[test]
fn only_function_arns_are_placeholders() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/shell-variables.toml");
    let source = std::fs::read_to_string(&path).expect("fixture readable");
    let compiled = crate::compile(&source, &path);
    let placeholders: Vec<&str> = compiled.placeholders.iter().map(String::as_str).collect();
    assert_eq!(
        placeholders,
        [
            "StepbackGuardArn",
            "StepbackNotifyArn",
            "StepbackSsmCommandArn"
        ]
    );
    let needed = |key: &str| format!("${{{key}}}");
    let occurrences: usize = placeholders
        .iter()
        .map(|key| compiled.json.matches(&needed(key)).count())
        .sum();
    assert_eq!(compiled.json.matches("${").count(), occurrences);
}
