//! The Lambda handler's contract and param parsing on arbitrary JSON: every step `Function::handle` takes
//! before its first AWS call (`Function::parse`), for every Lambda action. No client is built and no request
//! is sent.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(payload) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    for action in catalog::ACTIONS.iter() {
        if let Ok(function) = lambdas::Function::new(action) {
            let _ = function.parse(payload.clone());
        }
    }
});
