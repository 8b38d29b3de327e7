//! The readiness run against the rehearsal world, directly: the readiness machine that the stack's schedule
//! starts, created in moto with the stack's functions (the real handlers behind `rehearsal_front::serve`), run
//! once with the world as made, once after a drift took what a step needs, and once after the fix. What it
//! recorded is read from its output, the notices from a queue subscribed to the readiness topic.

use crate::rehearse::plan;
use cli::rehearsal::Rehearsal;

/// The seed's world is ready: every step's check passes, and the first run tells the topic so and arms the
/// trigger. A stopped database makes `backup_db` (and only it) not ready, and the notice names the step, the
/// instance and the fix; starting it again makes the rollback ready again, said once; a run that changes
/// nothing says nothing.
#[test]
fn the_readiness_run_finds_a_drift_names_it_and_sees_the_fix() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let rehearsal = Rehearsal::prepare(plan("webapp-rollback.toml", &[], &[]), |_| {})
            .await
            .expect("the rehearsal is prepared");

        let first = rehearsal.check_readiness().await.expect("a readiness run");
        assert!(first.ready, "{first:#?}");
        let [(subject, message)] = first.notices.as_slice() else {
            panic!("one notice: {first:#?}");
        };
        assert_eq!(subject, "stepback: webapp-rollback is ready");
        assert!(
            message.contains("The alarm trigger (EventBridge rule `webapp-rollback`) is armed now"),
            "{message}"
        );
        let quiet = rehearsal.check_readiness().await.expect("a readiness run");
        assert!(quiet.ready && quiet.notices.is_empty(), "{quiet:#?}");

        let drift = rehearsal.drift("backup_db").await.expect("a drift");
        let drifted = rehearsal.check_readiness().await.expect("a readiness run");
        assert_eq!(drifted.not_ready, ["backup_db"], "{drifted:#?}");
        let [(subject, message)] = drifted.notices.as_slice() else {
            panic!("one notice: {drifted:#?}");
        };
        assert_eq!(
            subject,
            "stepback: webapp-rollback could not run: backup_db"
        );
        insta::assert_snapshot!("not_ready_notice", mask(message));

        rehearsal.mend(&drift).await.expect("the fix");
        let fixed = rehearsal.check_readiness().await.expect("a readiness run");
        assert!(fixed.ready, "{fixed:#?}");
        let [(subject, message)] = fixed.notices.as_slice() else {
            panic!("one notice: {fixed:#?}");
        };
        assert_eq!(subject, "stepback: webapp-rollback is ready");
        assert!(message.contains("Not ready since"), "{message}");
        tests::models::assert_accepted(&rehearsal.sent());
    });
}

/// Each time (`2026-12-08T00:15:00.048Z`) as `<time>`.
fn mask(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("T") {
        let (before, after) = rest.split_at(at);
        let date = before.len() >= 10 && before[before.len() - 10..].as_bytes()[4] == b'-';
        match after.find('Z').filter(|end| date && *end <= 20) {
            Some(end) => {
                out.push_str(&before[..before.len() - 10]);
                out.push_str("<time>");
                rest = &after[end + 1..];
            }
            None => {
                out.push_str(before);
                out.push('T');
                rest = &after[1..];
            }
        }
    }
    out.push_str(rest);
    out
}
