//! Harness: Gitea's own swagger spec, of each version the real-Gitea tests run.
//!
//! The spec is Gitea's `templates/swagger/v1_json.tmpl`, taken from the module source that
//! `tests/real-forge/build.sh` downloads from the Go module proxy (its `h1:` sum checked)
//! and keeps in `target/real-forge/src/<name>`, rendered as Gitea's `GET /swagger.v1.json`
//! renders it ([`render`]). Nothing outside the repository is read: a fresh clone builds the
//! source on first use, as the real-Gitea tests do. `spec::` holds the rendering equal to
//! what each real server serves.

use std::{path::PathBuf, sync::OnceLock};

use serde_json::Value;

use super::real_gitea::{self, VERSIONS};

/// The version the fake Gitea plays (its `GET /version` answers 1.27.3): its response
/// bodies are checked against this spec; routes and requests against every version's.
pub const NEWEST: &str = "gitea-1.27.3";

/// The template inside Gitea's source tree.
pub const TEMPLATE: &str = "templates/swagger/v1_json.tmpl";

/// One version's swagger document.
pub struct Spec {
    /// `gitea-1.27.3`
    pub name: &'static str,
    pub doc: Value,
}

/// The rendered spec of a pinned version (`gitea-1.22.6`), built and read on first use.
#[track_caller]
pub fn spec(name: &'static str) -> &'static Spec {
    type Slot = OnceLock<Result<Spec, String>>;
    static SPECS: OnceLock<Vec<(&'static str, Slot)>> = OnceLock::new();
    let specs = SPECS.get_or_init(|| VERSIONS.iter().map(|v| (*v, OnceLock::new())).collect());
    let slot = &specs
        .iter()
        .find(|(n, _)| *n == name)
        .unwrap_or_else(|| panic!("{name} is not in VERSIONS"))
        .1;
    match slot.get_or_init(|| load(name)) {
        Ok(spec) => spec,
        Err(why) => panic!("the swagger spec of {name} is not available:\n{why}"),
    }
}

/// Every pinned version's spec, oldest first.
pub fn every_version() -> impl Iterator<Item = &'static Spec> {
    VERSIONS.iter().map(|name| spec(name))
}

/// The template's path for a pinned version (building the source on first use).
pub fn template_path(name: &'static str) -> Result<PathBuf, String> {
    Ok(real_gitea::source(name)?.join(TEMPLATE))
}

fn load(name: &'static str) -> Result<Spec, String> {
    let path = template_path(name)?;
    let template = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
    let version = name.trim_start_matches("gitea-");
    let text = render(&template, version).map_err(|e| format!("`{}`: {e}", path.display()))?;
    let doc = serde_json::from_str(&text)
        .map_err(|e| format!("`{}` rendered is not JSON: {e}", path.display()))?;
    Ok(Spec { name, doc })
}

/// Render `v1_json.tmpl` as Gitea serves it on a server at the root of its host (no sub
/// path). The template is Go's `html/template` text whose only actions are the version
/// and the sub path: 1.22.6 writes `{{AppVer | JSEscape}}` and `{{AppSubUrl | JSEscape}}`
/// (template helpers), 1.27.3 `{{.SwaggerAppVer}}` and `{{.SwaggerAppSubUrl}}` (set by
/// `routers/web/swagger_json.go`: the JS-escaped `setting.AppVer`, and `setting.AppSubURL`).
/// The version becomes `version` (it must need no escaping), the sub path the empty string;
/// any other action is an error, so a template that grows one is not half rendered.
pub fn render(template: &str, version: &str) -> Result<String, String> {
    if !version
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+'))
    {
        return Err(format!("version `{version}` would need JS escaping"));
    }
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    let mut versions = 0;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find("}}")
            .ok_or_else(|| "an unclosed `{{` action".to_owned())?;
        match after[..end].trim() {
            "AppVer | JSEscape" | ".SwaggerAppVer" => {
                out.push_str(version);
                versions += 1;
            }
            "AppSubUrl | JSEscape" | ".SwaggerAppSubUrl" => {}
            other => return Err(format!("unknown template action `{{{{{other}}}}}`")),
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    if versions == 0 {
        return Err("no version action: not the swagger template this renderer knows".into());
    }
    Ok(out)
}

impl Spec {
    pub fn operation(&self, method: &str, template: &str) -> Option<&Value> {
        self.doc
            .get("paths")?
            .get(template)?
            .get(method.to_ascii_lowercase())
    }

    /// Follow a `$ref` (`#/definitions/X`, `#/responses/X`); returns the target and the
    /// definition name when it is one.
    pub fn resolve<'a>(&'a self, schema: &'a Value) -> (&'a Value, Option<&'a str>) {
        let mut current = schema;
        let mut name = None;
        while let Some(reference) = current.get("$ref").and_then(Value::as_str) {
            let pointer = reference
                .strip_prefix('#')
                .unwrap_or_else(|| panic!("{}: external $ref `{reference}`", self.name));
            current = self
                .doc
                .pointer(pointer)
                .unwrap_or_else(|| panic!("{}: dangling $ref `{reference}`", self.name));
            name = reference.strip_prefix("#/definitions/");
        }
        (current, name)
    }

    /// The response object for a status code (resolved from `#/responses/…`).
    pub fn response(&self, method: &str, template: &str, status: u16) -> Option<&Value> {
        let responses = self.operation(method, template)?.get("responses")?;
        let response = responses.get(status.to_string())?;
        Some(self.resolve(response).0)
    }

    pub fn declared_statuses(&self, method: &str, template: &str) -> Vec<u16> {
        self.operation(method, template)
            .and_then(|op| op.get("responses"))
            .and_then(Value::as_object)
            .map(|map| map.keys().filter_map(|k| k.parse().ok()).collect())
            .unwrap_or_default()
    }

    pub fn parameters(&self, method: &str, template: &str, location: &str) -> Vec<&Value> {
        self.operation(method, template)
            .and_then(|op| op.get("parameters"))
            .and_then(Value::as_array)
            .map(|params| {
                params
                    .iter()
                    .map(|p| self.resolve(p).0)
                    .filter(|p| p.get("in").and_then(Value::as_str) == Some(location))
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn request_schema(&self, method: &str, template: &str) -> Option<&Value> {
        self.parameters(method, template, "body")
            .into_iter()
            .next()
            .and_then(|p| p.get("schema"))
    }
}
