//! `ai-dialer vapi publish`: creates or updates our tools and assistant in VAPI from the
//! files in `vapi/` (embedded in the binary, or read from a directory), with the server URL
//! and secret filled in, and remembers the ids so the next publish updates in place.

use std::path::Path;

use reqwest::Method;
use serde_json::{Value, json};

use super::vapi::VapiClient;
use crate::store::Store;

/// The assistant's files.
#[derive(Debug, Clone)]
pub struct AssistantFiles {
    pub assistant: String,
    pub system_prompt: String,
    pub first_message: String,
    pub voicemail_message: String,
    pub end_call_message: String,
    pub summary_prompt: String,
    pub structured_data_prompt: String,
    pub structured_data_schema: String,
    /// (tool name, JSON definition)
    pub tools: Vec<(String, String)>,
}

const TOOL_NAMES: [&str; 3] = ["check_availability", "book_appointment", "mark_do_not_call"];

impl AssistantFiles {
    /// The files compiled into this binary.
    pub fn embedded() -> Self {
        AssistantFiles {
            assistant: include_str!("../../vapi/assistant.json").into(),
            system_prompt: include_str!("../../vapi/prompts/system-prompt.md").into(),
            first_message: include_str!("../../vapi/prompts/first-message.txt").into(),
            voicemail_message: include_str!("../../vapi/prompts/voicemail-message.txt").into(),
            end_call_message: include_str!("../../vapi/prompts/end-call-message.txt").into(),
            summary_prompt: include_str!("../../vapi/prompts/summary-prompt.md").into(),
            structured_data_prompt: include_str!("../../vapi/prompts/structured-data-prompt.md")
                .into(),
            structured_data_schema: include_str!("../../vapi/structured-data-schema.json").into(),
            tools: vec![
                (
                    "check_availability".into(),
                    include_str!("../../vapi/tools/check_availability.json").into(),
                ),
                (
                    "book_appointment".into(),
                    include_str!("../../vapi/tools/book_appointment.json").into(),
                ),
                (
                    "mark_do_not_call".into(),
                    include_str!("../../vapi/tools/mark_do_not_call.json").into(),
                ),
            ],
        }
    }

    /// The same files from a directory laid out like `vapi/` (to publish edits without rebuilding).
    pub fn from_dir(dir: &Path) -> std::io::Result<Self> {
        let read = |p: &str| std::fs::read_to_string(dir.join(p));
        Ok(AssistantFiles {
            assistant: read("assistant.json")?,
            system_prompt: read("prompts/system-prompt.md")?,
            first_message: read("prompts/first-message.txt")?,
            voicemail_message: read("prompts/voicemail-message.txt")?,
            end_call_message: read("prompts/end-call-message.txt")?,
            summary_prompt: read("prompts/summary-prompt.md")?,
            structured_data_prompt: read("prompts/structured-data-prompt.md")?,
            structured_data_schema: read("structured-data-schema.json")?,
            tools: TOOL_NAMES
                .iter()
                .map(|n| read(&format!("tools/{n}.json")).map(|t| ((*n).to_owned(), t)))
                .collect::<std::io::Result<_>>()?,
        })
    }
}

/// Where VAPI sends server messages, and the secret it must send with them.
#[derive(Debug, Clone)]
pub struct ServerTarget {
    pub url: String,
    pub secret: String,
}

impl ServerTarget {
    fn json(&self) -> Value {
        // A static header carries the secret, the way VAPI's migration guide maps the legacy
        // `X-Vapi-Secret` onto current server settings.
        json!({"url": self.url, "timeoutSeconds": 20, "headers": {"x-vapi-secret": self.secret}})
    }
}

fn parse(name: &str, text: &str) -> anyhow::Result<Value> {
    serde_json::from_str(text).map_err(|e| anyhow::anyhow!("{name} is not valid JSON: {e}"))
}

/// The tool definitions to send, by name.
pub fn tool_bodies(
    files: &AssistantFiles,
    server: &ServerTarget,
) -> anyhow::Result<Vec<(String, Value)>> {
    files
        .tools
        .iter()
        .map(|(name, text)| {
            let mut tool = parse(&format!("tools/{name}.json"), text)?;
            tool["server"] = server.json();
            Ok((name.clone(), tool))
        })
        .collect()
}

/// The assistant definition to send, using the given tool ids.
pub fn assistant_body(
    files: &AssistantFiles,
    server: &ServerTarget,
    tool_ids: &[String],
) -> anyhow::Result<Value> {
    let mut assistant = parse("assistant.json", &files.assistant)?;
    let schema = parse("structured-data-schema.json", &files.structured_data_schema)?;
    assistant["firstMessage"] = json!(files.first_message.trim());
    assistant["voicemailMessage"] = json!(files.voicemail_message.trim());
    assistant["endCallMessage"] = json!(files.end_call_message.trim());
    assistant["model"]["messages"] =
        json!([{"role": "system", "content": files.system_prompt.trim()}]);
    assistant["model"]["toolIds"] = json!(tool_ids);
    assistant["server"] = server.json();
    assistant["analysisPlan"] = json!({
        "summaryPlan": {"enabled": true, "messages": [{"role": "system", "content": files.summary_prompt.trim()}]},
        "structuredDataPlan": {"enabled": true, "schema": schema, "messages": [{"role": "system", "content": files.structured_data_prompt.trim()}]},
    });
    Ok(assistant)
}

/// What a publish did (or, in a dry run, would do).
#[derive(Debug, Default)]
pub struct PublishReport {
    /// (name, id, "created" | "updated")
    pub resources: Vec<(String, String, &'static str)>,
}

async fn upsert(
    client: &VapiClient,
    store: &Store,
    key: &str,
    path: &str,
    body: &Value,
) -> anyhow::Result<(String, &'static str)> {
    if let Some(id) = store.integration_id(key).await? {
        let mut patch = body.clone();
        if let Some(obj) = patch.as_object_mut() {
            // VAPI refuses `type` on updates.
            obj.remove("type");
        }
        if client
            .send_json(Method::PATCH, &format!("{path}/{id}"), &patch)
            .await?
            .is_some()
        {
            return Ok((id, "updated"));
        }
        // Deleted in VAPI's dashboard since: create it again.
    }
    let created = client
        .send_json(Method::POST, path, body)
        .await?
        .ok_or_else(|| anyhow::anyhow!("VAPI answered 404 to POST {path}"))?;
    let id = created
        .get("id")
        .and_then(Value::as_str)
        .ok_or_else(|| anyhow::anyhow!("VAPI did not return an id for {key}"))?
        .to_owned();
    store.set_integration_id(key, &id).await?;
    Ok((id, "created"))
}

/// Creates or updates the tools, then the assistant that uses them.
pub async fn publish(
    client: &VapiClient,
    store: &Store,
    files: &AssistantFiles,
    server: &ServerTarget,
) -> anyhow::Result<PublishReport> {
    let mut report = PublishReport::default();
    let mut tool_ids = Vec::new();
    for (name, body) in tool_bodies(files, server)? {
        let (id, how) = upsert(client, store, &format!("vapi.tool.{name}"), "/tool", &body).await?;
        tool_ids.push(id.clone());
        report.resources.push((format!("tool {name}"), id, how));
    }
    let assistant = assistant_body(files, server, &tool_ids)?;
    let (id, how) = upsert(client, store, "vapi.assistant", "/assistant", &assistant).await?;
    report.resources.push(("assistant".into(), id, how));
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_files_build_valid_definitions() {
        let files = AssistantFiles::embedded();
        let server = ServerTarget {
            url: "https://dialer.example/api/integrations/vapi".into(),
            secret: "s3cret".into(),
        };
        let tools = tool_bodies(&files, &server).unwrap();
        assert_eq!(tools.len(), 3);
        for (_, t) in &tools {
            assert_eq!(t["type"], "function");
            assert_eq!(t["server"]["headers"]["x-vapi-secret"], "s3cret");
        }
        let a = assistant_body(&files, &server, &["t1".into(), "t2".into(), "t3".into()]).unwrap();
        assert_eq!(a["model"]["toolIds"], json!(["t1", "t2", "t3"]));
        let first = a["firstMessage"].as_str().unwrap();
        assert!(
            first.contains("AI assistant")
                && first.contains("recorded")
                && first.contains("stop calling"),
            "disclosures and opt-out: {first}"
        );
        let prompt = a["model"]["messages"][0]["content"].as_str().unwrap();
        for var in [
            "lead_company_name",
            "lead_contact_name",
            "lead_email",
            "lead_phone_number",
            "lead_timezone",
            "lead_datetime",
        ] {
            assert!(
                prompt.contains(&format!("{{{{{var}}}}}")),
                "the prompt uses {var}"
            );
        }
        let outcomes =
            &a["analysisPlan"]["structuredDataPlan"]["schema"]["properties"]["outcome"]["enum"];
        assert!(outcomes.as_array().unwrap().contains(&json!("do_not_call")));
        assert!(
            a["voicemailMessage"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
    }

    #[test]
    fn the_repository_files_match_the_embedded_ones() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("vapi");
        let from_disk = AssistantFiles::from_dir(&dir).unwrap();
        assert_eq!(
            from_disk.system_prompt,
            AssistantFiles::embedded().system_prompt
        );
    }
}
