//! The `stepback` binary as a user runs it: exit codes, what it prints, what it writes.

mod verbs;
