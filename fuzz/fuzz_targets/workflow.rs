//! Structure-aware: workflows generated from catalog actions with plausible params, `after` edges and `when`s
//! (see `stepback_fuzz::generate`), through check, compile and plan.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stepback_fuzz::generate::Source;

fuzz_target!(|source: Source| {
    stepback_fuzz::check_compile_plan(&source.0);
});
