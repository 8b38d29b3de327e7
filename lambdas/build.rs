//! Registers every action's handlers from its module: each `src/actions/<name>.rs` (but `mod.rs`) is a module
//! whose `HANDLERS` go into the dispatch table, so that a new action's Lambda is its module alone.
//! `src/actions/mod.rs` includes what it writes.

include!("../catalog/build/register.rs");

fn main() {
    println!("cargo::rerun-if-changed=../catalog/build/register.rs");
    register(
        "pub",
        "/// Every module's handlers: the dispatch table [`crate::Function`] looks its action up in.\nstatic HANDLERS: &[&[Handler]]",
        "HANDLERS",
    );
}
