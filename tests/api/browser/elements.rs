//! Finding elements, acting on them, and the keyboard.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};

use super::webdriver::{Browser, POLL};

/// The W3C key under which element references travel.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// WebDriver's code for the Enter key, for `send_keys` and `press`.
pub const ENTER: &str = "\u{E007}";
/// WebDriver's code for the Tab key.
pub const TAB: &str = "\u{E004}";
/// WebDriver's code for the Escape key.
pub const ESCAPE: &str = "\u{E00C}";
/// WebDriver's code for the Backspace key.
pub const BACKSPACE: &str = "\u{E003}";
const SHIFT: &str = "\u{E008}";

/// An element of the page it was found on; stale once the page navigates away.
#[derive(Debug, Clone)]
pub struct Element {
    id: String,
    /// What found it, for error messages.
    selector: String,
}

impl Element {
    /// The element as an argument for [`Browser::execute`] (`arguments[i]` in the script).
    pub fn arg(&self) -> Value {
        json!({ ELEMENT_KEY: self.id })
    }
}

impl Browser {
    async fn el_cmd(
        &self,
        what: &str,
        el: &Element,
        method: Method,
        sub: &str,
        body: Option<Value>,
    ) -> Value {
        let path = format!("/element/{}{sub}", el.id);
        self.cmd(&format!("{what} `{}`", el.selector), method, &path, body)
            .await
    }

    async fn try_find_all(&self, css: &str) -> Result<Vec<Element>, String> {
        let body = json!({"using": "css selector", "value": css});
        let found = self.try_cmd(Method::POST, "/elements", Some(body)).await?;
        let found = found.as_array().cloned().unwrap_or_default();
        Ok(found.iter().map(|v| element(v, css)).collect())
    }

    /// The first element matching `css`; panics when there is none.
    pub async fn find(&self, css: &str) -> Element {
        match self.try_find_all(css).await {
            Ok(found) if !found.is_empty() => found.into_iter().next().unwrap(),
            Ok(_) => panic!("no element matches `{css}` on {}", self.current_url().await),
            Err(e) => panic!("WebDriver find `{css}` failed: {e}"),
        }
    }

    /// Every element matching `css`, in document order (possibly none).
    pub async fn find_all(&self, css: &str) -> Vec<Element> {
        self.try_find_all(css)
            .await
            .unwrap_or_else(|e| panic!("WebDriver find_all `{css}` failed: {e}"))
    }

    /// The element with keyboard focus (the body when nothing has it).
    pub async fn active_element(&self) -> Element {
        let v = self
            .cmd("active_element", Method::GET, "/element/active", None)
            .await;
        element(&v, "<active element>")
    }

    /// Waits until an element matches `css` and returns the first one.
    pub async fn wait_for(&self, css: &str, timeout: Duration) -> Element {
        let deadline = Instant::now() + timeout;
        loop {
            // Errors while a page is being replaced are expected; keep polling.
            let found = self.try_find_all(css).await.unwrap_or_default();
            if let Some(el) = found.into_iter().next() {
                return el;
            }
            if Instant::now() >= deadline {
                let url = self.current_url().await;
                panic!(
                    "timed out after {timeout:?} waiting for an element matching `{css}` on {url}"
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Clicks the element's centre, scrolling it into view first.
    pub async fn click(&self, el: &Element) {
        self.el_cmd("click", el, Method::POST, "/click", Some(json!({})))
            .await;
    }

    /// Clicks the first element matching `css`, finding it again when a live update
    /// replaced it between the find and the click (the page swaps tables on events).
    pub async fn click_css(&self, css: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            let el = self.wait_for(css, timeout).await;
            let path = format!("/element/{}/click", el.id);
            match self.try_cmd(Method::POST, &path, Some(json!({}))).await {
                Ok(_) => return,
                Err(e) if e.contains("stale element") && Instant::now() < deadline => {
                    tokio::time::sleep(POLL).await;
                }
                Err(e) => panic!("WebDriver click `{css}` failed: {e}"),
            }
        }
    }

    /// Types `text` into the element; may contain key codes such as [`ENTER`].
    pub async fn send_keys(&self, el: &Element, text: &str) {
        let body = json!({"text": text});
        self.el_cmd("send_keys to", el, Method::POST, "/value", Some(body))
            .await;
    }

    /// Empties an input or textarea.
    pub async fn clear(&self, el: &Element) {
        self.el_cmd("clear", el, Method::POST, "/clear", Some(json!({})))
            .await;
    }

    /// The element's rendered text, as a user sees it.
    pub async fn text(&self, el: &Element) -> String {
        let v = self.el_cmd("text of", el, Method::GET, "/text", None).await;
        v.as_str().unwrap_or_default().to_owned()
    }

    /// An HTML attribute as written in the markup; `None` when absent.
    pub async fn attribute(&self, el: &Element, name: &str) -> Option<String> {
        let what = format!("attribute {name} of");
        let v = self
            .el_cmd(&what, el, Method::GET, &format!("/attribute/{name}"), None)
            .await;
        v.as_str().map(str::to_owned)
    }

    /// A DOM property, i.e. the live state (`value`, `checked`, ...).
    pub async fn property(&self, el: &Element, name: &str) -> Value {
        let what = format!("property {name} of");
        self.el_cmd(&what, el, Method::GET, &format!("/property/{name}"), None)
            .await
    }

    /// Whether the element is rendered visibly.
    pub async fn is_displayed(&self, el: &Element) -> bool {
        self.el_cmd("is_displayed", el, Method::GET, "/displayed", None)
            .await
            == true
    }

    /// Presses each key of `keys` in turn on whatever has focus.
    pub async fn press(&self, keys: &str) {
        let actions = keys
            .chars()
            .flat_map(|k| {
                [
                    json!({"type": "keyDown", "value": k}),
                    json!({"type": "keyUp", "value": k}),
                ]
            })
            .collect();
        self.key_actions(actions).await;
    }

    /// Shift+Tab: moves focus backwards.
    pub async fn press_shift_tab(&self) {
        let actions = [
            ("keyDown", SHIFT),
            ("keyDown", TAB),
            ("keyUp", TAB),
            ("keyUp", SHIFT),
        ]
        .map(|(kind, key)| json!({"type": kind, "value": key}))
        .to_vec();
        self.key_actions(actions).await;
    }

    async fn key_actions(&self, actions: Vec<Value>) {
        let body = json!({"actions": [{"type": "key", "id": "keyboard", "actions": actions}]});
        self.cmd("key actions", Method::POST, "/actions", Some(body))
            .await;
    }
}

fn element(v: &Value, selector: &str) -> Element {
    let id = v[ELEMENT_KEY].as_str();
    let id = id.unwrap_or_else(|| panic!("not an element reference: {v}"));
    Element {
        id: id.to_owned(),
        selector: selector.to_owned(),
    }
}
