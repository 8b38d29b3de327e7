//! SSM: the commands the run sent, which the emulator runs nowhere.

use super::StateLine;

/// Each command that SSM received, oldest first, with the script as SSM would run it on its instances (what the
/// handler sent, values and all), so that a person can read what would have run: the emulator runs nothing.
pub(super) async fn scripts(config: &aws_config::SdkConfig) -> Vec<StateLine> {
    let Ok(listed) = aws_sdk_ssm::Client::new(config)
        .list_commands()
        .send()
        .await
    else {
        return vec![StateLine {
            resource: "SSM commands".to_owned(),
            state: "unknown: ListCommands failed".to_owned(),
        }];
    };
    let mut commands = listed.commands().to_vec();
    commands.sort_by_key(|c| {
        c.requested_date_time()
            .map(|t| (t.secs(), t.subsec_nanos()))
    });
    if commands.is_empty() {
        return vec![StateLine {
            resource: "SSM commands".to_owned(),
            state: "none".to_owned(),
        }];
    }
    commands
        .iter()
        .map(|command| {
            let script = command
                .parameters()
                .and_then(|p| p.get("commands"))
                .map(|lines| lines.join("\n"))
                .unwrap_or_default();
            let directory = command
                .parameters()
                .and_then(|p| p.get("workingDirectory"))
                .and_then(|d| d.first())
                .map(|d| format!("in {d}\n"))
                .unwrap_or_default();
            // The handler's comment ends with the step's id; the emulator's instance list is not what was asked
            // (moto 5.2.5 adds every instance it knows to a command sent to instance ids).
            let step = command
                .comment()
                .filter(|c| c.starts_with("stepback "))
                .and_then(|c| c.rsplit(' ').next())
                .map_or_else(
                    || command.command_id().unwrap_or_default().to_owned(),
                    |step| format!("from {step}"),
                );
            StateLine {
                resource: format!("SSM command {step}"),
                state: format!("{directory}{script}"),
            }
        })
        .collect()
}
