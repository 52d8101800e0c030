//! Driving the page: chromedriver, chromium, and helpers that read what
//! the page shows.

use std::{
    future::Future,
    net::TcpListener as StdListener,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use fantoccini::{
    actions::{InputSource, MouseActions, PointerAction, MOUSE_BUTTON_LEFT},
    Client, ClientBuilder, Locator,
};
use serde_json::{json, Value};

/// How long the page may take to answer one step.
const STEP_TIMEOUT: Duration = Duration::from_secs(30);
const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "chromedriver";

/// chromedriver, killed when dropped.
pub struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub async fn start_driver() -> Driver {
    let port = free_port();
    let child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{CHROMEDRIVER} must be installed (scripts/setup.sh): {e}"));
    let driver = Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let deadline = Instant::now() + STEP_TIMEOUT;
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(Instant::now() < deadline, "chromedriver did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    driver
}

pub async fn open_browser(driver: &Driver, profile_dir: &Path, downloads: &Path) -> Client {
    let args = vec![
        "--headless".to_owned(),
        "--no-sandbox".to_owned(),
        "--disable-gpu".to_owned(),
        "--disable-quic".to_owned(),
        "--no-first-run".to_owned(),
        "--disable-background-networking".to_owned(),
        "--disable-component-update".to_owned(),
        "--disable-sync".to_owned(),
        "--disable-dev-shm-usage".to_owned(),
        "--window-size=1400,1100".to_owned(),
        format!("--user-data-dir={}", profile_dir.display()),
    ];
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".to_owned(),
        json!({
            "binary": CHROMIUM,
            "args": args,
            "prefs": {
                "download.default_directory": downloads,
                "download.prompt_for_download": false,
                // A view's downloads are several files from one page.
                "profile.default_content_setting_values.automatic_downloads": 1,
            },
        }),
    );
    // An alert would stay open and fail every later command.
    caps.insert("unhandledPromptBehavior".to_owned(), json!("ignore"));
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("chromium starts under chromedriver")
}

/// Opens chromium and runs `steps` with it and its downloads folder, in
/// a task of their own so that the browser is closed even when a step
/// fails; the failure is then raised again.
pub async fn with_browser<F, Fut>(steps: F)
where
    F: FnOnce(Client, PathBuf) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let driver = start_driver().await;
    let profile_dir = tempfile::tempdir().unwrap();
    let downloads = tempfile::tempdir().unwrap();
    let client = open_browser(&driver, profile_dir.path(), downloads.path()).await;
    let outcome = tokio::spawn(steps(client.clone(), downloads.path().to_owned())).await;
    let _ = client.close().await;
    if let Err(error) = outcome {
        std::panic::resume_unwind(error.into_panic());
    }
}

/// The viewport point `fraction` of the way across the time chart, at
/// half its height, with the chart scrolled into view.
pub async fn chart_point(client: &Client, fraction: f64) -> (f64, f64) {
    js(
        client,
        "document.getElementById('chart').scrollIntoView({block: 'center'})",
    )
    .await;
    let rect = js(
        client,
        "const r = document.getElementById('chart').getBoundingClientRect();
         return [r.left, r.top, r.width, r.height]",
    )
    .await;
    let [left, top, width, height] = [0, 1, 2, 3].map(|i| rect[i].as_f64().unwrap());
    (
        (left + width * fraction).round(),
        (top + height / 2.0).round(),
    )
}

/// Drags the real mouse across the time chart, from `from` to `to`
/// (fractions of its width, at half its height), and waits for the query
/// the drag starts.
pub async fn drag_on_chart(client: &Client, from: f64, to: f64) {
    let (start, middle, end) = (
        chart_point(client, from).await,
        chart_point(client, (from + to) / 2.0).await,
        chart_point(client, to).await,
    );
    let point = |(x, y): (f64, f64)| PointerAction::MoveTo {
        duration: None,
        x,
        y,
    };
    let drag = MouseActions::new("mouse".to_owned())
        .then(point(start))
        .then(PointerAction::Down {
            button: MOUSE_BUTTON_LEFT,
        })
        .then(point(middle))
        .then(point(end))
        .then(PointerAction::Up {
            button: MOUSE_BUTTON_LEFT,
        });
    js(client, "document.body.dataset.state = ''").await;
    client.perform_actions(drag).await.unwrap();
    wait_js(
        client,
        "document.body.dataset.state === 'ready'",
        "the query of the dragged range",
    )
    .await;
}

fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let dir = target.join("ui-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub async fn screenshot(client: &Client, name: &str) {
    let png = client.screenshot().await.unwrap();
    std::fs::write(screenshot_dir().join(format!("{name}.png")), png).unwrap();
}

pub async fn js(client: &Client, script: &str) -> Value {
    client.execute(script, vec![]).await.unwrap()
}

/// Waits until `expression` is truthy in the page and returns its value.
pub async fn wait_js(client: &Client, expression: &str, what: &str) -> Value {
    let deadline = Instant::now() + STEP_TIMEOUT;
    loop {
        let value = js(client, &format!("return {expression};")).await;
        if !(value.is_null() || value == json!(false) || value == json!("")) {
            return value;
        }
        if Instant::now() > deadline {
            let status = js(
                client,
                "return document.getElementById('status').textContent",
            )
            .await;
            panic!("timed out waiting for {what} ({expression}); status: {status}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Opens `url` and waits until the page has answered its first query.
pub async fn open(client: &Client, url: &str, what: &str) {
    client.goto(url).await.unwrap();
    wait_js(client, "document.body.dataset.state === 'ready'", what).await;
}

/// Points at the main graph's frame named `name` and returns the text of
/// its tooltip.
pub async fn tooltip_text(client: &Client, name: &str) -> String {
    point_at_frame(client, name, false).await;
    let text = wait_js(
        client,
        "!document.getElementById('tooltip').hidden && document.getElementById('tooltip').textContent",
        "the tooltip",
    )
    .await;
    text.as_str().unwrap().to_owned()
}

/// The name of the zoomed frame, `""` when not zoomed.
pub async fn zoomed_frame(client: &Client) -> Value {
    js(
        client,
        "return document.getElementById('zoom-path').dataset.zoomed",
    )
    .await
}

/// Points at the main graph's frame named `name` and returns the name the
/// tooltip shows for it.
pub async fn tooltip_name(client: &Client, name: &str) -> Value {
    point_at_frame(client, name, false).await;
    wait_js(
        client,
        "!document.getElementById('tooltip').hidden &&
         document.querySelector('#tooltip .name').textContent",
        "the tooltip",
    )
    .await
}

/// Marks the page busy, runs `action`, and waits for the run it starts.
pub async fn run_and_wait(client: &Client, action: &str) {
    js(client, "document.body.dataset.state = ''").await;
    js(client, action).await;
    let state = wait_js(
        client,
        "['ready', 'error'].includes(document.body.dataset.state) && document.body.dataset.state",
        "the query to finish",
    )
    .await;
    let status = js(
        client,
        "return document.getElementById('status').textContent",
    )
    .await;
    assert_eq!(state, json!("ready"), "query failed: {status}");
}

pub async fn set_input(client: &Client, id: &str, text: &str) {
    let input = client.find(Locator::Id(id)).await.unwrap();
    input.clear().await.unwrap();
    // Clearing fires no `input` event; the page listens for it.
    js(
        client,
        &format!("document.getElementById('{id}').dispatchEvent(new Event('input'))"),
    )
    .await;
    if !text.is_empty() {
        input.send_keys(text).await.unwrap();
    }
}

pub async fn click_id(client: &Client, id: &str) {
    client
        .find(Locator::Id(id))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// Texts of column `column` of the main table's body rows.
pub async fn table_column(client: &Client, column: usize) -> Vec<String> {
    let value = js(
        client,
        &format!(
            "return [...document.querySelectorAll('#top-table tbody tr')]
               .map(tr => tr.children[{column}].textContent)"
        ),
    )
    .await;
    serde_json::from_value(value).unwrap()
}

/// Moves the real mouse over the flame graph frame named `name`, and clicks it if asked.
pub async fn point_at_frame(client: &Client, name: &str, click: bool) {
    let button = click.then_some(MOUSE_BUTTON_LEFT);
    point_at_frame_in(client, "flame", "window.brasa.flame", name, button).await;
}

/// Moves the real mouse over the frame named `name` of the graph `graph`
/// (a script expression) drawn on canvas `canvas`, and presses `button`
/// there when given.
pub async fn point_at_frame_in(
    client: &Client,
    canvas: &str,
    graph: &str,
    name: &str,
    button: Option<u64>,
) {
    js(
        client,
        &format!("document.getElementById('{canvas}').scrollIntoView({{block: 'center'}})"),
    )
    .await;
    let name_json = serde_json::to_string(name).unwrap();
    let center = wait_js(
        client,
        &format!("window.brasa.frameCenter({name_json}, {graph})"),
        "the frame to be drawn",
    )
    .await;
    let x = center["x"].as_f64().unwrap().round();
    let y = center["y"].as_f64().unwrap().round();
    let mut mouse = MouseActions::new("mouse".to_owned()).then(PointerAction::MoveTo {
        duration: None,
        x,
        y,
    });
    if let Some(button) = button {
        mouse = mouse
            .then(PointerAction::Down { button })
            .then(PointerAction::Up { button });
    }
    client.perform_actions(mouse).await.unwrap();
}

/// The rows of a canvas's text equivalent (the table `id`): each row's
/// cells (depth, function, then its values).
pub async fn frames_text(client: &Client, id: &str) -> Vec<Vec<String>> {
    let rows = js(
        client,
        &format!(
            "return [...document.querySelectorAll('#{id} tbody tr')]
               .map(tr => [...tr.children].map(td => td.textContent))"
        ),
    )
    .await;
    serde_json::from_value(rows).unwrap()
}

/// The row of function `name` at `depth` in a text equivalent.
pub fn frame_row<'a>(rows: &'a [Vec<String>], depth: usize, name: &str) -> Option<&'a [String]> {
    rows.iter()
        .find(|r| r[0] == depth.to_string() && r[1] == name)
        .map(Vec::as_slice)
}

/// Waits for a finished download whose name ends with `suffix`, and
/// returns its bytes.
pub async fn wait_for_download_named(dir: &Path, suffix: &str) -> Vec<u8> {
    let deadline = Instant::now() + STEP_TIMEOUT;
    loop {
        let done: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.to_string_lossy().ends_with(suffix))
            .collect();
        if let Some(path) = done.first() {
            return std::fs::read(path).unwrap();
        }
        assert!(
            Instant::now() < deadline,
            "the download *{suffix} never arrived"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits for a finished pprof download (`.gz`) and returns its bytes.
pub async fn wait_for_download(dir: &Path) -> Vec<u8> {
    wait_for_download_named(dir, ".gz").await
}

pub async fn assert_nothing_injected(client: &Client) {
    let injected = js(
        client,
        "return document.querySelectorAll('img, iframe, object, embed, svg').length
             + document.scripts.length - 1",
    )
    .await;
    assert_eq!(injected, json!(0), "an element was injected into the page");
    let errors = js(client, "return window.brasa.page.errors").await;
    assert_eq!(errors, json!([]), "the page raised errors");
    assert!(
        client.get_alert_text().await.is_err(),
        "a script from a function name ran and opened an alert"
    );
}
