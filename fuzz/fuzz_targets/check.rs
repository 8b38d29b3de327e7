//! `stepback check` on arbitrary bytes: a file that is not UTF-8 is an IO error before any check, so only UTF-8
//! reaches `workflow::check`. What it accepts is compiled and planned too.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(source) = std::str::from_utf8(data) {
        stepback_fuzz::check_compile_plan(source);
    }
});
