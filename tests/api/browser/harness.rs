//! Tests of the WebDriver client itself, on a self-contained `data:` page so that they do not
//! depend on the application's markup.

use base64::Engine as _;
use serde_json::json;

use super::{BACKSPACE, Browser, ENTER, ESCAPE, Element, TAB, TIMEOUT, save_screenshot};

/// Records the last key pressed, echoes clicks, and adds `#late` after a delay.
const PAGE: &str = r#"<!doctype html><title>harness</title>
<input id="a" value="start"><input id="b"><button id="go">Go</button>
<p id="out" data-state="idle">idle</p><p id="hidden" hidden>secret</p>
<script>
document.addEventListener('keydown', e => { window.lastKey = e.key; });
document.getElementById('go').addEventListener('click', () => {
  document.getElementById('out').textContent = 'clicked ' + document.getElementById('a').value;
});
setTimeout(() => {
  const p = document.createElement('p'); p.id = 'late'; p.textContent = 'late';
  document.body.append(p);
}, 300);
</script>"#;

async fn id_of(browser: &Browser, el: &Element) -> Option<String> {
    browser.attribute(el, "id").await
}

fn page_url() -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(PAGE);
    format!("data:text/html;base64,{encoded}")
}

#[tokio::test]
async fn the_client_drives_a_page() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    browser.goto(&page_url()).await;
    assert!(browser.current_url().await.starts_with("data:text/html"));

    // Finding, waiting and scripts.
    assert_eq!(browser.find_all("input").await.len(), 2);
    assert!(browser.find_all("table").await.is_empty());
    let late = browser.wait_for("#late", TIMEOUT).await;
    assert_eq!(browser.text(&late).await, "late");
    browser
        .wait_until("document.title === 'harness'", TIMEOUT)
        .await;
    let a = browser.find("#a").await;
    let id = browser.execute(
        "return arguments[0].id + arguments[1];",
        vec![a.arg(), json!(1)],
    );
    assert_eq!(id.await, json!("a1"));

    // Typing and clicking.
    browser.clear(&a).await;
    browser.send_keys(&a, &format!("hello{BACKSPACE}")).await;
    assert_eq!(browser.property(&a, "value").await, json!("hell"));
    assert_eq!(
        browser.attribute(&a, "value").await.as_deref(),
        Some("start")
    );
    browser.click(&browser.find("#go").await).await;
    let out = browser.find("#out").await;
    assert_eq!(browser.text(&out).await, "clicked hell");
    assert_eq!(
        browser.attribute(&out, "data-state").await.as_deref(),
        Some("idle")
    );
    assert_eq!(browser.attribute(&out, "title").await, None);
    assert!(browser.is_displayed(&out).await);
    assert!(!browser.is_displayed(&browser.find("#hidden").await).await);

    // Keyboard: focus moves with Tab and Shift+Tab; special keys arrive as such.
    browser.send_keys(&a, ENTER).await;
    assert_eq!(
        browser.execute("return window.lastKey;", vec![]).await,
        json!("Enter")
    );
    browser.press(TAB).await;
    let focused = browser.active_element().await;
    assert_eq!(id_of(&browser, &focused).await.as_deref(), Some("b"));
    browser.press_shift_tab().await;
    let focused = browser.active_element().await;
    assert_eq!(id_of(&browser, &focused).await.as_deref(), Some("a"));
    browser.press(ESCAPE).await;
    assert_eq!(
        browser.execute("return window.lastKey;", vec![]).await,
        json!("Escape")
    );

    // Window size and screenshots.
    browser.set_window_size(1024, 700).await;
    browser
        .wait_until("window.outerWidth === 1024", TIMEOUT)
        .await;
    let path = save_screenshot(&browser, "harness").await;
    let png = std::fs::read(&path).unwrap();
    assert!(png.starts_with(b"\x89PNG"), "not a PNG: {}", path.display());
}
