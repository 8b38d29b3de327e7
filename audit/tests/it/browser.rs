//! The HTML in a real headless browser (Debian's chromium; `scripts/test` installs it): the page loads, its
//! inline script runs, every step has a bar in the timeline, and the failed step is marked.

use std::path::PathBuf;
use std::process::Command;

fn chromium() -> PathBuf {
    match std::env::var_os("STEPBACK_CHROMIUM") {
        Some(path) => PathBuf::from(path),
        None => panic!(
            "STEPBACK_CHROMIUM is not set: run the tests with scripts/test, which installs chromium"
        ),
    }
}

/// Headless, and nothing that reaches the network or the user's profile.
fn browser(profile: &std::path::Path) -> Command {
    let mut command = Command::new(chromium());
    command.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
    ]);
    command.arg(format!("--user-data-dir={}", profile.display()));
    command
}

/// The value of `attribute="..."` in a tag's text.
fn attribute<'a>(tag: &'a str, attribute: &str) -> Option<&'a str> {
    let start = tag.find(&format!("{attribute}=\""))? + attribute.len() + 2;
    tag.get(start..)?.split('"').next()
}

#[test]
fn the_timeline_shows_every_step_and_marks_the_failed_one() {
    let report = crate::audit(&crate::data("fail-deploy.json"));
    let html = audit::render::html(&report);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let page = dir.path().join("audit.html");
    std::fs::write(&page, &html).expect("the page is written");
    let url = format!("file://{}", page.display());

    let dumped = browser(&dir.path().join("profile-dom"))
        .args(["--dump-dom", &url])
        .output()
        .expect("chromium runs");
    assert!(
        dumped.status.success(),
        "{}",
        String::from_utf8_lossy(&dumped.stderr)
    );
    let dom = String::from_utf8_lossy(&dumped.stdout);
    assert!(
        dom.contains(r#"data-interactive="true""#),
        "the inline script did not run: {dom:.400}"
    );
    let bars: Vec<&str> = dom
        .split("<rect ")
        .skip(1)
        .filter(|tag| attribute(tag, "class").is_some_and(|c| c.starts_with("bar ")))
        .collect();
    for step in &report.steps {
        assert!(
            bars.iter()
                .any(|bar| attribute(bar, "data-step") == Some(step.id.as_str())),
            "no bar for {}",
            step.id
        );
    }
    let lanes: Vec<&str> = dom.split("<g ").skip(1).collect();
    let failed: Vec<&str> = lanes
        .iter()
        .filter(|lane| attribute(lane, "data-outcome") == Some("failed"))
        .filter_map(|lane| attribute(lane, "data-step"))
        .collect();
    assert_eq!(failed, ["deploy"]);

    let shot = dir.path().join("audit.png");
    let taken = browser(&dir.path().join("profile-shot"))
        .args([
            &format!("--screenshot={}", shot.display()),
            "--window-size=1000,1100",
            &url,
        ])
        .output()
        .expect("chromium runs");
    assert!(
        taken.status.success(),
        "{}",
        String::from_utf8_lossy(&taken.stderr)
    );
    let png = std::fs::read(&shot).expect("the screenshot");
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "{} bytes",
        png.len()
    );
}

/// Self-contained: nothing in the page is fetched (the SVG namespace is a name, not a request).
#[test]
fn the_page_requests_nothing() {
    for name in ["fail-deploy.json", "restore-data.json"] {
        let html = audit::render::html(&crate::audit(&crate::data(name)));
        let outside = html.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
        for needle in [
            "http://",
            "https://",
            "src=",
            "href=",
            "url(",
            "@import",
            "@font-face",
        ] {
            assert!(!outside.contains(needle), "{name}: the page holds {needle}");
        }
    }
}
