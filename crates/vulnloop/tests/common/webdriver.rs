//! A small W3C WebDriver client for the console tests: it starts Debian's
//! `chromedriver` on a loopback port and drives headless Chromium through it.
//!
//! Chromium runs with a host resolver rule that fails every name lookup
//! except 127.0.0.1, and with its background services (updates, sync,
//! metrics) off, so a test browser contacts nothing but the server under test.

#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{json, Value};

/// The key under which WebDriver returns an element reference.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Returns the paths of chromedriver and chromium, or `None` when either is
/// missing. With `CI=true` a missing browser fails the test instead.
pub fn browser_paths() -> Option<(PathBuf, PathBuf)> {
    let find = |names: &[&str]| names.iter().map(PathBuf::from).find(|path| path.is_file());
    let driver = find(&["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]);
    let browser = find(&["/usr/bin/chromium", "/usr/lib/chromium/chromium"]);
    match (driver, browser) {
        (Some(driver), Some(browser)) => Some((driver, browser)),
        _ if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("chromium or chromedriver is missing; .ci/run installs Debian's chromium and chromium-driver")
        }
        _ => {
            eprintln!("skipping: chromium or chromedriver is missing (apt-get install chromium chromium-driver)");
            None
        }
    }
}

/// A chromedriver process and one browser session, both ended on drop.
pub struct Browser {
    driver: Child,
    base: String,
    session: String,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium session with a fresh profile.
    pub fn start(driver_path: &Path, browser_path: &Path) -> Self {
        let port = free_port();
        let driver = Command::new(driver_path)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        while ureq::get(&format!("{base}/status")).call().is_err() {
            assert!(
                Instant::now() < deadline,
                "chromedriver did not answer on {base} within 20 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }

        let profile = tempfile::tempdir().unwrap();
        let args = [
            "--headless=new".to_string(),
            // The tests may run as root, where Chromium's sandbox cannot start.
            "--no-sandbox".to_string(),
            "--disable-gpu".to_string(),
            "--disable-dev-shm-usage".to_string(),
            "--window-size=1280,900".to_string(),
            format!("--user-data-dir={}", profile.path().display()),
            "--no-first-run".to_string(),
            "--disable-background-networking".to_string(),
            "--disable-component-update".to_string(),
            "--disable-sync".to_string(),
            "--disable-default-apps".to_string(),
            "--disable-client-side-phishing-detection".to_string(),
            "--disable-domain-reliability".to_string(),
            "--disable-breakpad".to_string(),
            "--metrics-recording-only".to_string(),
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1".to_string(),
        ];
        let capabilities = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": browser_path, "args": args },
        }}});
        let mut browser = Self {
            driver,
            base,
            session: String::new(),
            _profile: profile,
        };
        let created = browser.send("POST", "/session", Some(capabilities));
        browser.session = created["sessionId"]
            .as_str()
            .expect("no session id from chromedriver")
            .to_string();
        browser
    }

    fn send(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.try_send(method, path, body)
            .unwrap_or_else(|(status, text)| {
                panic!("WebDriver {method} {path} failed with {status}: {text}")
            })
    }

    /// Sends a WebDriver command; an error status returns the status and the body.
    fn try_send(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, (u16, String)> {
        let url = format!("{}{path}", self.base);
        let request = ureq::request(method, &url).timeout(Duration::from_secs(60));
        let response = match body {
            Some(body) => request
                .set("Content-Type", "application/json")
                .send_string(&body.to_string()),
            None => request.call(),
        };
        let response = match response {
            Ok(response) => response,
            Err(ureq::Error::Status(status, response)) => {
                return Err((status, response.into_string().unwrap_or_default()));
            }
            Err(error) => panic!("WebDriver {method} {path} failed: {error}"),
        };
        let value: Value = serde_json::from_str(&response.into_string().unwrap()).unwrap();
        Ok(value.get("value").cloned().unwrap_or(Value::Null))
    }

    fn session_path(&self, rest: &str) -> String {
        format!("/session/{}{rest}", self.session)
    }

    /// Opens `url` and waits until the page has loaded.
    pub fn goto(&self, url: &str) {
        self.send(
            "POST",
            &self.session_path("/url"),
            Some(json!({ "url": url })),
        );
    }

    /// Returns the URL of the current page.
    pub fn url(&self) -> String {
        self.send("GET", &self.session_path("/url"), None)
            .as_str()
            .unwrap()
            .to_string()
    }

    /// Returns the page's visible text.
    pub fn text(&self) -> String {
        self.find("body").text()
    }

    /// Returns the page's current HTML from the browser.
    pub fn source(&self) -> String {
        self.send("GET", &self.session_path("/source"), None)
            .as_str()
            .unwrap()
            .to_string()
    }

    /// Returns the id of the page's root element, or `None` while a
    /// navigation has left the browser without a document.
    fn root_id(&self) -> Option<String> {
        let found = self.try_send(
            "POST",
            &self.session_path("/element"),
            Some(json!({ "using": "css selector", "value": "html" })),
        );
        match found {
            Ok(found) => found[ELEMENT_KEY].as_str().map(str::to_string),
            Err((404, _)) => None,
            Err((status, text)) => {
                panic!("WebDriver: finding the root element failed with {status}: {text}")
            }
        }
    }

    /// Returns the first element that matches the CSS `selector`; panics when none does.
    pub fn find(&self, selector: &str) -> Element<'_> {
        let found = self.send(
            "POST",
            &self.session_path("/element"),
            Some(json!({ "using": "css selector", "value": selector })),
        );
        let id = found[ELEMENT_KEY]
            .as_str()
            .unwrap_or_else(|| panic!("no element for {selector}: {found}"));
        Element {
            browser: self,
            id: id.to_string(),
        }
    }

    /// Returns every element that matches the CSS `selector`.
    pub fn find_all(&self, selector: &str) -> Vec<Element<'_>> {
        let found = self.send(
            "POST",
            &self.session_path("/elements"),
            Some(json!({ "using": "css selector", "value": selector })),
        );
        found
            .as_array()
            .unwrap()
            .iter()
            .map(|element| Element {
                browser: self,
                id: element[ELEMENT_KEY].as_str().unwrap().to_string(),
            })
            .collect()
    }

    /// Returns the value of the cookie `name`, HttpOnly ones included.
    pub fn cookie(&self, name: &str) -> Option<Value> {
        let cookies = self.send("GET", &self.session_path("/cookie"), None);
        cookies
            .as_array()
            .unwrap()
            .iter()
            .find(|cookie| cookie["name"] == name)
            .cloned()
    }

    /// Saves a PNG screenshot of the viewport to `path`.
    pub fn screenshot(&self, path: &Path) {
        let encoded = self.send("GET", &self.session_path("/screenshot"), None);
        let png = base64::engine::general_purpose::STANDARD
            .decode(encoded.as_str().unwrap())
            .unwrap();
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, png).unwrap();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Deleting the session makes chromedriver close Chromium; the driver
        // itself is then stopped by its pid.
        if !self.session.is_empty() {
            let _ = ureq::delete(&format!("{}/session/{}", self.base, self.session))
                .timeout(Duration::from_secs(20))
                .call();
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// An element of the current page.
pub struct Element<'a> {
    browser: &'a Browser,
    id: String,
}

impl Element<'_> {
    fn path(&self, rest: &str) -> String {
        self.browser
            .session_path(&format!("/element/{}{rest}", self.id))
    }

    /// Returns the element's visible text.
    pub fn text(&self) -> String {
        self.browser
            .send("GET", &self.path("/text"), None)
            .as_str()
            .unwrap()
            .to_string()
    }

    /// Returns an attribute or property value, such as `value` of an input.
    pub fn property(&self, name: &str) -> Option<String> {
        self.browser
            .send("GET", &self.path(&format!("/property/{name}")), None)
            .as_str()
            .map(str::to_string)
    }

    /// Types `text` into the element.
    pub fn type_text(&self, text: &str) {
        self.browser
            .send("POST", &self.path("/value"), Some(json!({ "text": text })));
    }

    /// Clicks a submit button or link and waits until the browser shows the
    /// next page: a new document, whose root element is a new element.
    pub fn submit(&self) {
        let before = self.browser.find("html").id;
        self.click();
        let deadline = Instant::now() + Duration::from_secs(30);
        // Between two documents the browser may briefly have no root element.
        while self.browser.root_id().is_none_or(|id| id == before) {
            assert!(
                Instant::now() < deadline,
                "no new page within 30 s after a click"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Clicks the element.
    pub fn click(&self) {
        self.browser
            .send("POST", &self.path("/click"), Some(json!({})));
    }
}

/// Returns a loopback port that was free a moment ago.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
