//! The rehearsal's front: what stands between the emulator (moto) and the real handlers in `stepback rehearse`
//! and the tests. [`serve`] answers the Lambda Invoke API in process with the `lambdas` handlers and passes every
//! other request to the emulator, through [`faults`] (what `--chaos`, `--fail` and `--slow` inject) and
//! [`moto_gaps`] (what moto lacks or accepts where AWS refuses), with an EKS cluster's Kubernetes API server from
//! [`kubernetes`]; [`sent`] keeps each request for the model check.
//! None of it runs on AWS, so it lives apart from the `lambdas` crate: the `bootstrap` binary links none of it.

pub mod faults;
pub mod kubernetes;
pub mod loopback;
pub mod moto_gaps;
pub mod sent;
pub mod serve;
