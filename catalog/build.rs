//! Registers every action from its file: each `src/actions/<name>.rs` (but `mod.rs`) is a module whose `SPEC`
//! goes into `ACTIONS`, so that a new action is its file alone. `src/actions/mod.rs` includes what it writes.

include!("build/register.rs");

fn main() {
    println!("cargo::rerun-if-changed=build/register.rs");
    register(
        "pub(crate)",
        "/// Every action, in the order of their files' names.\npub static ACTIONS: &[ActionSpec]",
        "SPEC",
    );
}
