//! The readiness run against the rehearsal world, directly: the readiness machine that the stack's schedule
//! starts, created in moto with the stack's functions (the real handlers behind `rehearsal_front::serve`), run
//! once with the world as made, once after a drift took what a step needs, and once after the fix. What it
//! recorded is read from its output, the notices from a queue subscribed to the readiness topic. Then
//! `stepback readiness --stack` reads the day back from the metrics, with earlier runs' datapoints put first.

use std::time::{Duration, SystemTime};

use aws_sdk_cloudwatch::types::{Dimension, MetricDatum};
use catalog::readiness as facts;
use cli::readiness::history::{self, Change};
use cli::rehearsal::Rehearsal;

use crate::rehearse::plan;
use crate::stepback_with;

/// The seed's world is ready: every step's check passes, and the first run tells the topic so and arms the
/// trigger. A stopped database makes `backup_db` (and only it) not ready, and the notice names the step, the
/// instance and the fix; starting it again makes the rollback ready again, said once; a run that changes
/// nothing says nothing. The readiness alarm, evaluated after each run, goes to ALARM and back to OK. Before the
/// first run, an alarm's event starts nothing: the trigger is disabled. `stepback readiness` then shows the runs
/// of the day.
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
        // Deployed disabled, the trigger matches no alarm's event before a run finds every step ready.
        let refused = rehearsal
            .run_alarm_event("webapp-5xx-rate", |_| None, |_| {})
            .await
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            refused.as_deref(),
            Some(
                "the alarm's event matches no rule: [trigger]'s EventBridge rule `webapp-rollback` is disabled, and EventBridge matches no event against a disabled rule; a readiness run or `stepback preflight` that finds every step ready arms it"
            )
        );

        let first = rehearsal.check_readiness().await.expect("a readiness run");
        assert!(first.ready, "{first:#?}");
        assert_eq!(
            (first.alarm.before.as_str(), first.alarm.now.as_str()),
            ("INSUFFICIENT_DATA", "OK"),
            "{first:#?}"
        );
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
        assert_eq!(
            (drifted.alarm.before.as_str(), drifted.alarm.now.as_str()),
            ("OK", "ALARM"),
            "{drifted:#?}"
        );
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
        assert_eq!(
            (fixed.alarm.before.as_str(), fixed.alarm.now.as_str()),
            ("ALARM", "OK"),
            "{fixed:#?}"
        );
        let [(subject, message)] = fixed.notices.as_slice() else {
            panic!("one notice: {fixed:#?}");
        };
        assert_eq!(subject, "stepback: webapp-rollback is ready");
        assert!(message.contains("Not ready since"), "{message}");
        tests::models::assert_accepted(&rehearsal.sent());

        the_day_is_read_back_from_the_metrics(&rehearsal).await;
    });
}

/// The schedule's period in the seed, 15 minutes.
const PERIOD: Duration = Duration::from_secs(15 * 60);

/// Puts the datapoints earlier runs would have put, eight to two periods before the current one, as the
/// `readiness` function puts them: `backup_db`, and so the whole, not ready in two of them. The history reads them
/// back as changes, per period; `stepback readiness --stack` prints them beside this period's runs (the test's
/// own: ready, then the drift, then the fix, which the period's least shows as not ready).
async fn the_day_is_read_back_from_the_metrics(rehearsal: &Rehearsal) {
    let now = SystemTime::now();
    let since_epoch = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    let current = SystemTime::UNIX_EPOCH + Duration::from_secs(since_epoch - since_epoch % 900);
    let base = current - 8 * PERIOD;
    let at = |n: u32| base + n * PERIOD;
    let cloudwatch = aws_sdk_cloudwatch::Client::new(&rehearsal.session.config);
    let dimension = |name: &str, value: &str| Dimension::builder().name(name).value(value).build();
    for n in 0..=6 {
        let ready = !(2..=3).contains(&n);
        let datum = |step: Option<&str>, ready: bool| {
            let mut dimensions = vec![dimension(facts::WORKFLOW_DIMENSION, "webapp-rollback")];
            dimensions.extend(step.map(|s| dimension(facts::STEP_DIMENSION, s)));
            MetricDatum::builder()
                .metric_name(facts::METRIC)
                .set_dimensions(Some(dimensions))
                .timestamp(aws_smithy_types::DateTime::from(
                    at(n) + Duration::from_secs(2),
                ))
                .value(if ready { 1.0 } else { 0.0 })
                .build()
        };
        cloudwatch
            .put_metric_data()
            .namespace(facts::NAMESPACE)
            .metric_data(datum(None, ready))
            .metric_data(datum(Some("backup_db"), ready))
            .metric_data(datum(Some("deploy"), true))
            .send()
            .await
            .expect("the earlier runs' metrics");
    }

    // Up to the start of the period before this one: the seeded runs alone.
    let steps = ["backup_db".to_owned(), "deploy".to_owned()];
    let day = history::history(
        &rehearsal.session,
        "webapp-rollback",
        &steps,
        900,
        current - PERIOD,
    )
    .await
    .expect("the history");
    let flapped = [
        Change::Ready(at(0)),
        Change::NotReady(at(2)),
        Change::Ready(at(4)),
    ];
    assert_eq!(day.whole.changes(PERIOD), flapped, "{day:#?}");
    assert_eq!(day.steps[0].changes(PERIOD), flapped, "{day:#?}");
    assert_eq!(
        day.steps[1].changes(PERIOD),
        [Change::Ready(at(0))],
        "{day:#?}"
    );
    assert_eq!(day.steps[1].verdicts.len(), 7, "{day:#?}");

    let endpoint = rehearsal
        .session
        .config
        .endpoint_url()
        .expect("the rehearsal's endpoint")
        .to_owned();
    let env = vec![
        ("AWS_ENDPOINT_URL", endpoint),
        ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
        ("AWS_REGION", cli::rehearsal::REGION.to_owned()),
    ];
    let (code, out, err) = tokio::task::spawn_blocking(move || {
        stepback_with(&["readiness", "--stack", "webapp-rollback"], &env, "")
    })
    .await
    .expect("stepback readiness ran");
    println!("$ stepback readiness --stack webapp-rollback\n{out}{err}(exit {code})");
    let time = |at: SystemTime| humantime::format_rfc3339_seconds(at).to_string();
    let line = |name: &str| {
        out.lines()
            .skip_while(|l| !l.starts_with("the last day, from "))
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("no line for {name}: {out}"))
            .to_owned()
    };
    let flapped = format!(
        "ready at {}, not ready at {}, ready at {}, no run from {} to ",
        time(at(0)),
        time(at(2)),
        time(at(4)),
        time(at(7)),
    );
    for name in ["(rollback)", "backup_db"] {
        let line = line(name);
        assert!(line.contains(&flapped), "{line}");
        assert!(
            line.contains(", not ready at "),
            "this period's drift: {line}"
        );
    }
    let deploy = line("deploy");
    assert!(
        deploy.contains(&format!(
            "ready at {}, no run from {}",
            time(at(0)),
            time(at(7))
        )),
        "{deploy}"
    );
    // Seven seeded periods, and this one's runs (two if the test crossed into the next period).
    assert!(
        deploy.ends_with("; not ready in 0 of 8 periods")
            || deploy.ends_with("; not ready in 0 of 9 periods"),
        "{deploy}"
    );
    assert!(out.contains("now, as an alarm would start it:"), "{out}");
    assert!(out.contains("now, with the input's defaults:"), "{out}");
    assert!(
        out.contains("alarm trigger: armed (EventBridge rule `webapp-rollback`)"),
        "{out}"
    );
    // Fixed: every step can run now.
    assert_eq!(code, 0, "{out}{err}");
    assert!(line("halt").contains(" period"), "{out}");
    assert!(!line("halt").contains("not ready"), "{out}");
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
