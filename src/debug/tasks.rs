//! `/tasks`: the runtime's task dump, as Go's `goroutine?debug=2` text or as JSON.

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Response, StatusCode};
use serde_json::{json, Value};

use super::{respond, text};
use crate::{Handle, TaskDump, TaskInfo, WaitReason};

/// The dump of `handle`'s runtime, oldest task first, in `format` (`text`, the
/// default, or `json`).
pub(super) fn answer(handle: &Handle, format: Option<&str>) -> Response<Full<Bytes>> {
    let json = match format {
        None | Some("text") => false,
        Some("json") => true,
        Some(other) => {
            return text(
                StatusCode::BAD_REQUEST,
                format!("format must be text or json, not {other:?}\n"),
            )
        }
    };
    let mut dump = handle.dump();
    dump.tasks
        .sort_by(|a, b| b.age.cmp(&a.age).then(a.id.cmp(&b.id)));
    if json {
        respond(
            StatusCode::OK,
            "application/json",
            to_json(&dump).to_string(),
        )
    } else {
        text(StatusCode::OK, dump.to_string())
    }
}

/// `{"tasks": [...], "count": N}`; see the module docs of `gorun::debug`.
fn to_json(dump: &TaskDump) -> Value {
    let tasks: Vec<Value> = dump.tasks.iter().map(task_json).collect();
    json!({ "tasks": tasks, "count": dump.tasks.len() })
}

fn task_json(t: &TaskInfo) -> Value {
    json!({
        "id": t.id,
        "location": t.location.to_string(),
        "state": t.state.as_str(),
        "wait": t.wait.map(WaitReason::as_str),
        "age_ms": u64::try_from(t.age.as_millis()).unwrap_or(u64::MAX),
        "blocked_worker": t.blocked_worker,
    })
}
