//! What the sample-event tests share: the event files in the repository's `events/` folder and the
//! check that one survives a round trip through its `aws_lambda_events` type.

use std::path::PathBuf;

use serde::Serialize;
use serde::de::DeserializeOwned;

/// The repository's `events/` folder.
pub fn events_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../events")
}

/// The text of the event file `name` (a path below `events/`).
pub fn read(name: &str) -> String {
    std::fs::read_to_string(events_dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The event file `name` read as `T`, after checking that writing it and reading it again as `T`
/// changes nothing: the file is an event Lambda sends, not only JSON that happens to parse.
pub fn round_trip<T: Serialize + DeserializeOwned>(name: &str) -> T {
    let event: T = serde_json::from_str(&read(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    let again: T = serde_json::from_str(&serde_json::to_string(&event).unwrap()).unwrap();
    assert_eq!(
        serde_json::to_value(&event).unwrap(),
        serde_json::to_value(&again).unwrap(),
        "{name} does not round-trip"
    );
    event
}
