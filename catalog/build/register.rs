// What `catalog/build.rs` and `lambdas/build.rs` share (each `include!`s this file): a directory of modules, one
// file each, registered from the directory, so that a new action is its file and no list is edited.

/// Declares each file of `src/actions/` (but `mod.rs`) as a module with `visibility`, and writes `table` (`static
/// <name>: <type> = &[...]`) with each module's `item`, in the order of the files' names, to `$OUT_DIR/actions.rs`.
fn register(visibility: &str, table: &str, item: &str) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/actions");
    println!("cargo::rerun-if-changed={}", dir.display());
    let mut modules: Vec<String> = std::fs::read_dir(&dir)
        .expect("src/actions readable")
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            let stem = path.file_stem()?.to_str()?.to_owned();
            (path.extension()? == "rs" && stem != "mod").then_some(stem)
        })
        .collect();
    modules.sort();
    let mut code = String::new();
    for module in &modules {
        let path = dir.join(format!("{module}.rs")).display().to_string();
        code.push_str(&format!("#[path = {path:?}]\n{visibility} mod {module};\n"));
    }
    code.push_str(&format!("\n{table} = &[\n"));
    for module in &modules {
        code.push_str(&format!("    {module}::{item},\n"));
    }
    code.push_str("];\n");
    let out = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    std::fs::write(std::path::Path::new(&out).join("actions.rs"), code).expect("OUT_DIR writable");
}
